// asciicast v2 (conpty_widget/recording.py writes it): a JSON header line, then one event a line.

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  title?: string;
  idle_time_limit?: number;
  [key: string]: unknown;
}

/** [seconds from the start, kind ("o" output, "i" input, "r" resize "COLSxROWS", "m" marker), data] */
export type CastEvent = [number, string, string];

export interface Cast {
  header: CastHeader;
  events: CastEvent[];
}

/** Parse an asciicast v2; throws on anything else, naming the line. */
export function parseCast(text: string): Cast {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (!lines.length) throw new Error("empty recording");
  const header = JSON.parse(lines[0]);
  if (!header || header.version !== 2 || !(header.width > 0) || !(header.height > 0)) {
    throw new Error("not an asciicast v2 (its first line must be a header with version 2, width and height)");
  }
  const events: CastEvent[] = lines.slice(1).map((line, i) => {
    const event = JSON.parse(line);
    if (!Array.isArray(event) || typeof event[0] !== "number" || typeof event[1] !== "string" || typeof event[2] !== "string") {
      throw new Error(`line ${i + 2}: not an event [time, kind, data]`);
    }
    return event as CastEvent;
  });
  return { header, events };
}

/** When each event plays (seconds from the start), pauses longer than ``idleLimit`` cut to it
 * (the header's ``idle_time_limit`` when ``idleLimit`` is null; none when neither says). */
export function timeline(events: CastEvent[], idleLimit: number | null, header?: CastHeader): number[] {
  const limit = idleLimit ?? header?.idle_time_limit ?? Infinity;
  const times: number[] = [];
  let last = 0;
  let at = 0;
  for (const [t] of events) {
    at += Math.min(Math.max(0, t - last), limit);
    last = Math.max(last, t);
    times.push(at);
  }
  return times;
}
