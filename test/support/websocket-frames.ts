/** A WebSocket client of the replay feed, as the ingest is one: the frames it is sent. */
import WebSocket from "ws";

/** Connects to `url` and collects frames until the server closes, or the first `limit` of them. */
export function receiveFrames(
  url: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ frames: string[]; closeCode: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const frames: string[] = [];
    socket.on("message", (data) => {
      // Frames already read keep coming while the close handshake runs: not ours to keep.
      if (frames.length >= limit) return;
      frames.push(data.toString());
      if (frames.length === limit) socket.close();
    });
    socket.on("close", (closeCode) => resolve({ frames, closeCode }));
    socket.on("error", reject);
  });
}
