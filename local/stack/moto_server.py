"""moto_server, with DynamoDB transactions at a cost that does not grow with the table (and
AWS faults injected on request, for chaos tests).

moto 5.2.5's DynamoDBBackend.transact_write_items deep-copies every table a transaction names
once per action, to roll back if one fails: a transaction costs actions x table size, and local
counting slows down as the table fills (a 100-action transaction on a table of 10^4 RSVPs took
seconds). DynamoDB itself does nothing of the kind. This launcher keeps moto's transaction code
as it is and changes only what it snapshots: before the transaction, a copy of each item it
names; on any failure, those items are put back. While moto's code runs, its deep copies of a
Table are the table itself (its "rollback" then re-assigns the live table, a no-op).

Two pure speed-ups, found with py-spy on local counting (README "Measured"): each
UpdateExpression text is parsed once (moto parsed it twice per action), and each validation
pass builds its node-type map once rather than once per node. A third: a Query of the table
itself (no index) reads the items of its partition key, where moto 5.2.5 sorts every item of
the table and filters them (so one Query of a table of 10^5 RSVPs cost what a scan does, and the
counting queries each partition's failed-batch records once a batch); DynamoDB reads only the
partition. Queries of an index are left to moto.

What it changes nothing about: conditions, the order of actions, cancellation reasons, what a
successful transaction writes. It does not undo stream records of a rolled-back write (the
local table has no stream). It also serves DynamoDB requests one at a time: moto's server is
threaded and takes no lock, so a rollback could otherwise overwrite what another request wrote
between the snapshot and the restore, and a read could see a transaction half applied
(DynamoDB isolates both). Pinned to the moto of local/python/requirements.txt: another
version may have other internals, so it refuses to start on one, saying so.

Fault injection, for the chaos tests (local/stack/aws-faults.ts writes and reads the files):
inert unless the environment variable RSVP_ATLAS_FAULTS_FILE names a JSON file. Then every
DynamoDB request and every Firehose PutRecordBatch consults that file (re-read when it
changes; no file, no faults):

  {"dynamodb": {"mode": "throttle" | "error500" | "transaction-throttle",
                "until": <epoch seconds>,
                "operations": ["TransactWriteItems"]},      <- optional: only these
   "firehose": {"mode": "failed-entries", "until": <epoch seconds>, "every": 2}}

Until `until`, DynamoDB answers as DynamoDB does: HTTP 400 ThrottlingException (which the AWS
SDKs retry as throttling) or HTTP 500 InternalServerError, without running the request. With
"transaction-throttle" only TransactWriteItems is refused (every other operation runs), the
way DynamoDB refuses a throttled transaction: HTTP 400 TransactionCanceledException (which the
AWS SDKs do not retry), its CancellationReasons one per TransactItems entry, in their order,
the first {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of
your table or index. ..."} (an on-demand table throttling a hot key), the others
{"Code": "None"} (DynamoDB API Reference, TransactWriteItems, Errors,
TransactionCanceledException: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/
API_TransactWriteItems.html).
PutRecordBatch stores every entry of the batch but each `every`-th (with 2: the 2nd, 4th, ...;
with 1, the default: all), answered as failed, ErrorCode ServiceUnavailableException, and
counted in FailedPutCount (PutRecord is left alone). Each injected fault appends one
JSON line to "<faults file>.log" (a DynamoDB error, or a batch with its failed entries); so
does a faults file that cannot be read or makes no sense, which then injects nothing.

Firehose's custom S3 prefixes: moto 5.2.5 writes a delivery stream's objects under its Prefix
as written, `!{timestamp:yyyy-MM-dd}` and all, plus the default `yyyy/MM/dd/HH/` folders. Firehose
evaluates the prefix's expressions, and a custom prefix replaces the default folders (Firehose
Developer Guide, "Understand custom prefixes for Amazon S3 objects": "Custom prefix you specify
will override the default prefix of yyyy/MM/dd/HH"; the `timestamp` namespace takes Java
DateTimeFormatter patterns, in UTC by default, each instance in one prefix the same instant:
https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html). Here a prefix with a
`timestamp` expression is evaluated at the moment of delivery (Firehose uses the oldest record's
arrival, the same moment for moto's immediate deliveries) with the patterns' letters y, M, d, H,
m and s and quoted literals, and the object is named <evaluated prefix><stream>-<version>-
<yyyy-MM-dd-HH-mm-ss>-<uuid> ("Configure Amazon S3 object name format"), without the extension
of a compression, which moto does not apply (it stores the records as sent). A prefix with another
namespace, or a pattern letter outside those, is refused at delivery, saying so. A prefix with
no expression is left to moto.

Usage: python local/stack/moto_server.py [moto_server's arguments]
"""

import copy
import datetime
import json
import os
import re
import sys
import threading
import time
import uuid
from importlib.metadata import version

PINNED_MOTO = os.environ.get("RSVP_ATLAS_MOTO_PIN", "5.2.5")

installed = version("moto")
if installed != PINNED_MOTO:
    sys.exit(
        f"local/stack/moto_server.py patches moto {PINNED_MOTO}'s DynamoDB transactions, but this "
        f"venv has moto {installed}: check that transact_write_items still snapshots tables the "
        "same way, then change the pin here and in local/python/requirements.txt together."
    )

from moto.core.responses import ActionResult  # noqa: E402
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # noqa: E402
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # noqa: E402
from moto.dynamodb.responses import DynamoHandler  # noqa: E402
from moto.firehose.models import FirehoseBackend  # noqa: E402
from moto.firehose.responses import FirehoseResponse  # noqa: E402
from moto.server import main  # noqa: E402
from moto.utilities.aws_headers import amz_crc32  # noqa: E402

_state = threading.local()


def _table_deepcopy(self, memo):
    """Inside a transaction: the live table (its items are snapshotted one by one instead)."""
    if getattr(_state, "in_transaction", False):
        return self
    # Everywhere else (backups, restores): what deepcopy does for a plain object.
    result = self.__class__.__new__(self.__class__)
    memo[id(self)] = result
    for name, value in self.__dict__.items():
        setattr(result, name, copy.deepcopy(value, memo))
    return result


def _key_of(table, op_type, op):
    attributes = op["Item"] if op_type == "Put" else op["Key"]
    hash_value = DynamoType(attributes[table.hash_key_attr])
    range_value = (
        DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    )
    return hash_value, range_value


def _snapshot(backend, transact_items):
    """(table, hash, range, copy of the item or None) for every item the transaction names."""
    snapshots = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = backend.get_table(op.get("TableName"))  # a name or an ARN
            hash_value, range_value = _key_of(table, op_type, op)
            current = table.get_item(hash_value, range_value)
        except Exception:  # a malformed action: moto answers it, and writes nothing for it
            continue
        snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))
    return snapshots


def _restore(table, hash_value, range_value, item):
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    if item is None:
        if hash_value in table.items:
            table.items[hash_value].pop(range_value, None)
            if not table.items[hash_value]:
                del table.items[hash_value]
    else:
        table.items[hash_value][range_value] = item


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    snapshots = _snapshot(self, transact_items)
    _state.in_transaction = True
    try:
        return _moto_transact_write_items(self, transact_items)
    except BaseException:
        for snapshot in reversed(snapshots):
            _restore(*snapshot)
        raise
    finally:
        _state.in_transaction = False


_dynamodb_requests = threading.Lock()
_moto_call_action = DynamoHandler.call_action


def call_action(self):
    fault = _faults.active("dynamodb")
    if fault is not None:
        operation = self._get_action()
        mode = fault["mode"]
        faulted = fault.get("operations", (operation,))
        if operation in faulted and operation in _FAULTED_OPERATIONS.get(mode, faulted):
            return _dynamodb_fault_response(self, mode, operation)
    with _dynamodb_requests:
        return _moto_call_action(self)


class _Faults:
    """The faults file of RSVP_ATLAS_FAULTS_FILE, read again whenever it changes.

    A change is a new (mtime, inode, size): aws-faults.ts replaces the file by a rename, so a
    rewrite within the file system's mtime granularity still shows as a new inode."""

    MODES = {
        "dynamodb": ("throttle", "error500", "transaction-throttle"),
        "firehose": ("failed-entries",),
    }

    def __init__(self, path):
        self.path = path
        self.log_path = f"{path}.log" if path else None
        self._lock = threading.Lock()
        self._version = None
        self._faults = {}

    def active(self, service):
        """The service's fault if its window is open now, else None."""
        if not self.path:
            return None
        fault = self._current().get(service)
        if fault is None or time.time() >= fault["until"]:
            return None
        return fault

    def record(self, entry):
        """One JSON line in the log, whole: the harness counts what was injected from it."""
        with self._lock:
            self._append(entry)

    def _append(self, entry):
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"at": time.time(), **entry}) + "\n")

    def _current(self):
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return {}
        version = (stat.st_mtime_ns, stat.st_ino, stat.st_size)
        with self._lock:
            if version != self._version:
                self._version = version
                self._faults = self._read()
            return self._faults

    def _read(self):
        try:
            with open(self.path, encoding="utf-8") as file:
                return self._checked(json.load(file))
        except (OSError, ValueError) as error:
            self._append({"error": f"{self.path}: {error}"})
            print(f"moto_server.py: faults file ignored: {error}", file=sys.stderr)
            return {}

    @classmethod
    def _checked(cls, faults):
        if not isinstance(faults, dict):
            raise ValueError("not a JSON object")
        for service, fault in faults.items():
            if service not in cls.MODES:
                raise ValueError(f"unknown service {service!r}")
            if not isinstance(fault, dict) or fault.get("mode") not in cls.MODES[service]:
                raise ValueError(f"{service}.mode must be one of {cls.MODES[service]}")
            until = fault.get("until")
            if not isinstance(until, (int, float)) or isinstance(until, bool):
                raise ValueError(f"{service}.until must be epoch seconds")
            if "operations" in fault:
                operations = fault["operations"]
                if service != "dynamodb":
                    raise ValueError(f"{service} takes no operations filter")
                if not isinstance(operations, list) or not operations:
                    raise ValueError(f"{service}.operations must be a non-empty list")
            if "every" in fault:
                every = fault["every"]
                if service != "firehose":
                    raise ValueError(f"{service} takes no every")
                if not isinstance(every, int) or isinstance(every, bool) or every < 1:
                    raise ValueError(f"{service}.every must be a whole number >= 1")
        return faults


_faults = _Faults(os.environ.get("RSVP_ATLAS_FAULTS_FILE") or None)
_INJECTED = "fault injected by local/stack/moto_server.py"
_DYNAMODB_FAULTS = {
    # DynamoDB's own error shapes; the SDK reads the name after the "#".
    "throttle": (
        400,
        "ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    "error500": (500, "InternalServerError", "Internal server error"),
    # The transaction cancelled; the message is DynamoDB's, its reasons in _cancellation_reasons.
    "transaction-throttle": (
        400,
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
    ),
}
# Modes that fault only some operations (within "operations", when the file names them).
_FAULTED_OPERATIONS = {"transaction-throttle": ("TransactWriteItems",)}
# DynamoDB's reason for an item of a transaction it throttled on an on-demand table.
_THROTTLING_ERROR = {
    "Code": "ThrottlingError",
    "Message": "Throughput exceeds the current capacity of your table or index. DynamoDB is "
    "automatically scaling your table or index so please try again shortly. If exceptions "
    "persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/"
    "developerguide/bp-partition-key-design.html.",
}


def _cancellation_reasons(handler):
    """One reason per item of the request, in its order: the first throttled, the others none
    (DynamoDB's "None" code, without a message)."""
    items = handler._get_param("TransactItems") or [None]
    return [dict(_THROTTLING_ERROR)] + [{"Code": "None"} for _ in items[1:]]


@amz_crc32
def _dynamodb_fault_response(handler, mode, operation):
    """The response moto gives to any DynamoDB error it raises, for the injected one."""
    status, name, message = _DYNAMODB_FAULTS[mode]
    if mode == "transaction-throttle":
        reasons = _cancellation_reasons(handler)
        message = message.format(", ".join(reason["Code"] for reason in reasons))
    error = DynamodbException(ERROR_TYPE_PREFIX + name, f"{message} ({_INJECTED})")
    if mode == "transaction-throttle":
        # The body of moto's own TransactionCanceledException, and of DynamoDB's.
        error.description = json.dumps(
            {"__type": error.error_type, "CancellationReasons": reasons, "Message": error.message}
        )
    headers = {**handler.response_headers, **dict(error.get_headers()), "status": status}
    headers, body = handler._enrich_response(headers, error.get_body())
    _faults.record(
        {"service": "dynamodb", "mode": mode, "operation": operation, "status": status}
    )
    return status, headers, body


_moto_put_record_batch = FirehoseResponse.put_record_batch


def put_record_batch(self):
    """Within a failed-entries window: every `every`-th entry is not stored and is answered as
    failed, the others go to moto's delivery; the answer keeps the request's order."""
    fault = _faults.active("firehose")
    if fault is None:
        return _moto_put_record_batch(self)
    every = fault.get("every", 1)
    name = self._get_param("DeliveryStreamName")
    records = self._get_param("Records")
    failing = [(index + 1) % every == 0 for index in range(len(records))]
    kept = [record for record, fails in zip(records, failing, strict=True) if not fails]
    if kept:
        result = self.firehose_backend.put_record_batch(name, kept)
    else:  # nothing to store, but an unknown stream is still an error
        self.firehose_backend.describe_delivery_stream(name)
        result = {"Encrypted": False, "RequestResponses": []}
    stored = iter(result["RequestResponses"])
    failed = {
        "ErrorCode": "ServiceUnavailableException",
        "ErrorMessage": f"Slow down. ({_INJECTED})",
    }
    responses = [dict(failed) if fails else next(stored) for fails in failing]
    _faults.record(
        {
            "service": "firehose",
            "mode": fault["mode"],
            "operation": "PutRecordBatch",
            "deliveryStream": name,
            "records": len(records),
            "failedEntries": sum(failing),
        }
    )
    return ActionResult(
        {
            "FailedPutCount": sum(failing),
            "Encrypted": result.get("Encrypted", False),
            "RequestResponses": responses,
        }
    )


_moto_parse_update_expression = UpdateExpressionParser.make.__func__
_parsed_update_expressions = {}


def parse_update_expression(cls, expression):
    """moto parses an UpdateExpression twice per action and again for every action that repeats
    it; the parse is a pure function of the text and nothing changes its result (the validator
    works on a deep copy), so each text is parsed once. Parse errors are not cached."""
    parsed = _parsed_update_expressions.get(expression)
    if parsed is None:
        parsed = _moto_parse_update_expression(cls, expression)
        if len(_parsed_update_expressions) < 10_000:
            _parsed_update_expressions[expression] = parsed
    return parsed


def _processing_map_of(traverser):
    """A traverser's processing map: built once per traverser, not once per node visited (moto
    rebuilds the dict, and a tuple of its keys, for every node of every validation pass). The map
    holds the traverser's bound methods; no traverser changes it while it runs."""
    cached = traverser.__dict__.get("_rsvp_atlas_processing_map")
    if cached is None:
        processing_map = traverser._processing_map()
        cached = (processing_map, tuple(processing_map))
        traverser.__dict__["_rsvp_atlas_processing_map"] = cached
    return cached


def nodes_to_be_processed(self):
    return _processing_map_of(self)[1]


def process(self, node):
    for class_key, processor in _processing_map_of(self)[0].items():
        if isinstance(node, class_key):
            return processor(node)


_moto_format_s3_object_path = FirehoseBackend._format_s3_object_path
_EXPRESSION = re.compile(r"!\{([^:}]*):([^}]*)\}")
# Java DateTimeFormatter letters -> strftime, those a date-and-hour prefix uses.
_DATE_LETTERS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_DATE_TOKEN = re.compile(r"'([^']*)'|(yyyy|MM|dd|HH|mm|ss)|([A-Za-z])|([^A-Za-z']+)")


def java_date_format(pattern, instant):
    """A Java DateTimeFormatter pattern of the letters in _DATE_LETTERS, quoted literals and
    other characters, evaluated at `instant`; ValueError for anything else."""
    out = []
    position = 0
    for token in _DATE_TOKEN.finditer(pattern):
        if token.start() != position:
            break
        literal, letters, other_letter, other = token.groups()
        if other_letter is not None:
            raise ValueError(f"pattern letter {other_letter!r} of {pattern!r} is not evaluated here")
        out.append(literal if literal is not None else other if other is not None else instant.strftime(_DATE_LETTERS[letters]))
        position = token.end()
    if position != len(pattern):
        raise ValueError(f"cannot read the date pattern {pattern!r} at {position}")
    return "".join(out)


def evaluate_s3_prefix(prefix, instant):
    """The prefix with its `timestamp` expressions evaluated at `instant`."""

    def evaluate(expression):
        namespace, value = expression.groups()
        if namespace != "timestamp":
            raise ValueError(f"namespace {namespace!r} of the prefix {prefix!r} is not evaluated here")
        return java_date_format(value, instant)

    return _EXPRESSION.sub(evaluate, prefix)


def format_s3_object_path(delivery_stream_name, version_id, prefix):
    if "!{" not in prefix:
        return _moto_format_s3_object_path(delivery_stream_name, version_id, prefix)
    instant = datetime.datetime.now(datetime.timezone.utc)
    return (
        f"{evaluate_s3_prefix(prefix, instant)}{delivery_stream_name}-{version_id}-"
        f"{instant.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"
    )


_moto_query = Table.query


def _item_order(item):
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


def query(self, hash_key, *args, **kwargs):
    """A base-table Query over its partition key's items alone; anything else as moto does it.

    moto's query takes the items it filters from self.all_items(), every item of the table,
    sorted; for the table itself it keeps those whose hash key is `hash_key`. Here all_items()
    answers, for this one call, with exactly those, in the same order. Requests run one at a
    time (call_action), so no other request sees the instance attribute.
    """
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name is not None or hash_key is None:
        return _moto_query(self, hash_key, *args, **kwargs)
    bucket = self.items.get(hash_key)
    if bucket is None:
        items = []
    elif self.range_key_attr:
        items = sorted(bucket.values(), key=_item_order)
    else:
        items = [bucket]
    self.all_items = lambda: items
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


Table.query = query
Table.__deepcopy__ = _table_deepcopy
FirehoseBackend._format_s3_object_path = staticmethod(format_s3_object_path)
DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed
DepthFirstTraverser.process = process
UpdateExpressionParser.make = classmethod(parse_update_expression)
DynamoDBBackend.transact_write_items = transact_write_items
DynamoHandler.call_action = call_action
FirehoseResponse.put_record_batch = put_record_batch

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
