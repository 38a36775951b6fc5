/**
 * Panning and zooming the map by hand: drag (mouse, pen, one finger) pans, two fingers pinch
 * and pan, the wheel zooms about the pointer, a double-click zooms in (with shift, out); with
 * the map focused, arrows pan (shift: further), + and - zoom, 0 and Home reset, Escape lets go
 * of the cluster in focus. A press that does not move is a click. What a gesture does to the
 * view is the map's business ({@link GestureTarget}); this file only reads the input.
 */
import { panBy, type View, type ZoomLimits, zoomAt } from "./map-model.js";

export interface Point {
  x: number;
  y: number;
}

export interface GestureTarget {
  readonly view: View;
  readonly limits: ZoomLimits;
  /** Shows `view` now. */
  setView(view: View): void;
  /** Moves to `view` smoothly (or at once when the reader prefers less motion). */
  animateTo(view: View): void;
  stopAnimation(): void;
  zoomBy(factor: number): void;
  resetView(): void;
  /** The pointer hovers at a point of the map, or left it (null). */
  hoverAt(point: Point | null): void;
  /** A press that did not move: a click or a tap. */
  clickAt(point: Point): void;
  /** Escape: no cluster in focus or under the pointer. */
  release(): void;
}

/** Pointer travel (px) that makes a press a drag rather than a click. */
const DRAG_THRESHOLD = 4;

interface Gesture {
  startX: number;
  startY: number;
  dragged: boolean;
  /** Between the two fingers of a pinch, at the last move. */
  pinchDistance?: number;
}

export class MapGestures {
  private readonly pointers = new Map<number, Point>();
  private gesture: Gesture | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly target: GestureTarget,
  ) {
    canvas.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    canvas.addEventListener("pointerdown", (event) => this.pointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.pointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.pointerEnd(event));
    canvas.addEventListener("pointercancel", (event) => this.pointerEnd(event));
    canvas.addEventListener("pointerleave", (event) => this.pointerLeave(event));
    canvas.addEventListener("dblclick", (event) => this.doubleClick(event));
    canvas.addEventListener("keydown", (event) => this.key(event));
  }

  private localPoint(event: MouseEvent): Point {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  private wheel(event: WheelEvent): void {
    event.preventDefault();
    this.target.stopAnimation();
    // Lines and pages are coarser steps than pixels.
    const unit = event.deltaMode === 1 ? 0.05 : event.deltaMode === 2 ? 1 : 0.0025;
    const factor = 2 ** (-event.deltaY * unit);
    const p = this.localPoint(event);
    this.target.setView(zoomAt(this.target.view, factor, p.x, p.y, this.target.limits));
  }

  private pointerDown(event: PointerEvent): void {
    if (event.button !== 0 && event.pointerType === "mouse") return;
    this.target.stopAnimation();
    this.canvas.setPointerCapture(event.pointerId);
    const p = this.localPoint(event);
    this.pointers.set(event.pointerId, p);
    if (this.pointers.size === 1) {
      this.gesture = { startX: p.x, startY: p.y, dragged: false };
    } else if (this.pointers.size === 2 && this.gesture) {
      this.gesture.dragged = true;
      this.gesture.pinchDistance = this.pinchDistance();
    }
  }

  private pointerMove(event: PointerEvent): void {
    const p = this.localPoint(event);
    const previous = this.pointers.get(event.pointerId);
    if (!previous || !this.gesture) {
      this.target.hoverAt(p);
    } else if (this.pointers.size >= 2) {
      this.pinch(event.pointerId, p, this.gesture);
    } else {
      this.pointers.set(event.pointerId, p);
      this.drag(p, previous, this.gesture);
    }
  }

  /** Two fingers: the view follows their midpoint and zooms by their spread. */
  private pinch(pointerId: number, p: Point, gesture: Gesture): void {
    const before = this.midpoint();
    this.pointers.set(pointerId, p);
    const after = this.midpoint();
    const distance = this.pinchDistance();
    const factor = gesture.pinchDistance ? distance / gesture.pinchDistance : 1;
    gesture.pinchDistance = distance;
    const panned = panBy(this.target.view, after.x - before.x, after.y - before.y);
    this.target.setView(zoomAt(panned, factor, after.x, after.y, this.target.limits));
  }

  /** One pointer down: a drag once it has moved far enough, which pans. */
  private drag(p: Point, previous: Point, gesture: Gesture): void {
    if (
      !gesture.dragged &&
      Math.hypot(p.x - gesture.startX, p.y - gesture.startY) > DRAG_THRESHOLD
    ) {
      gesture.dragged = true;
      this.canvas.classList.add("is-dragging");
      this.target.hoverAt(null);
    }
    if (gesture.dragged) {
      this.target.setView(panBy(this.target.view, p.x - previous.x, p.y - previous.y));
    }
  }

  private pointerEnd(event: PointerEvent): void {
    if (!this.pointers.delete(event.pointerId)) return;
    if (this.pointers.size > 0) return;
    const gesture = this.gesture;
    this.gesture = null;
    this.canvas.classList.remove("is-dragging");
    if (event.type === "pointerup" && gesture && !gesture.dragged) {
      this.target.clickAt(this.localPoint(event));
    }
  }

  private pointerLeave(event: PointerEvent): void {
    if (event.pointerType === "mouse" && this.pointers.size === 0) this.target.hoverAt(null);
  }

  private doubleClick(event: MouseEvent): void {
    event.preventDefault();
    const p = this.localPoint(event);
    const { view, limits } = this.target;
    this.target.animateTo(zoomAt(view, event.shiftKey ? 0.5 : 2, p.x, p.y, limits));
  }

  private key(event: KeyboardEvent): void {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const action = this.keyAction(event.key, event.shiftKey ? 240 : 60);
    if (!action) return;
    event.preventDefault();
    this.target.stopAnimation();
    action();
  }

  /** What a key does, `step` px for a pan; undefined for a key the map leaves alone. */
  private keyAction(key: string, step: number): (() => void) | undefined {
    const target = this.target;
    const pan = (dx: number, dy: number) => () => target.setView(panBy(target.view, dx, dy));
    const zoomIn = () => target.zoomBy(2);
    const zoomOut = () => target.zoomBy(0.5);
    const reset = () => target.resetView();
    const actions: Record<string, () => void> = {
      ArrowLeft: pan(step, 0),
      ArrowRight: pan(-step, 0),
      ArrowUp: pan(0, step),
      ArrowDown: pan(0, -step),
      "+": zoomIn,
      "=": zoomIn,
      "-": zoomOut,
      _: zoomOut,
      "0": reset,
      Home: reset,
      Escape: () => target.release(),
    };
    return Object.hasOwn(actions, key) ? actions[key] : undefined;
  }

  private midpoint(): Point {
    const [a, b] = [...this.pointers.values()];
    if (!a || !b) return a ?? { x: 0, y: 0 };
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  private pinchDistance(): number {
    const [a, b] = [...this.pointers.values()];
    return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : 0;
  }
}
