"""moto_server, with DynamoDB transactions at a cost that does not grow with the table.

moto 5.2.5's DynamoDBBackend.transact_write_items deep-copies every table a transaction names
once per action, to roll back if one fails: a transaction costs actions x table size, and local
counting slows down as the table fills (a 100-action transaction on a table of 10^4 RSVPs took
seconds). DynamoDB itself does nothing of the kind. This launcher keeps moto's transaction code
as it is and changes only what it snapshots: before the transaction, a copy of each item it
names; on any failure, those items are put back. While moto's code runs, its deep copies of a
Table are the table itself (its "rollback" then re-assigns the live table, a no-op).

Two pure speed-ups, found with py-spy on local counting (README "Measured"): each
UpdateExpression text is parsed once (moto parsed it twice per action), and each validation
pass builds its node-type map once rather than once per node.

What it changes nothing about: conditions, the order of actions, cancellation reasons, what a
successful transaction writes. It does not undo stream records of a rolled-back write (the
local table has no stream). It also serves DynamoDB requests one at a time: moto's server is
threaded and takes no lock, so a rollback could otherwise overwrite what another request wrote
between the snapshot and the restore, and a read could see a transaction half applied
(DynamoDB isolates both). Pinned to the moto of local/python/requirements.txt: another
version may have other internals, so it refuses to start on one, saying so.

Usage: python local/stack/moto_server.py [moto_server's arguments]
"""

import copy
import os
import sys
import threading
from importlib.metadata import version

PINNED_MOTO = os.environ.get("RSVP_ATLAS_MOTO_PIN", "5.2.5")

installed = version("moto")
if installed != PINNED_MOTO:
    sys.exit(
        f"local/stack/moto_server.py patches moto {PINNED_MOTO}'s DynamoDB transactions, but this "
        f"venv has moto {installed}: check that transact_write_items still snapshots tables the "
        "same way, then change the pin here and in local/python/requirements.txt together."
    )

from moto.dynamodb.models import DynamoDBBackend  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # noqa: E402
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # noqa: E402
from moto.dynamodb.responses import DynamoHandler  # noqa: E402
from moto.server import main  # noqa: E402

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
    with _dynamodb_requests:
        return _moto_call_action(self)


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


Table.__deepcopy__ = _table_deepcopy
DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed
DepthFirstTraverser.process = process
UpdateExpressionParser.make = classmethod(parse_update_expression)
DynamoDBBackend.transact_write_items = transact_write_items
DynamoHandler.call_action = call_action

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
