// How long ago a time was, as every view of the viewer writes it: "now", "12 s ago", "5 min
// ago", "3 h ago", "2 d ago"; "in 4 s" for a time ahead (a broker's clock a little ahead of the
// page's); "never" when there is no time.
export function relativeTime(ms, nowMs) {
  if (ms === null || ms === undefined) return "never";
  const diff = Number(nowMs) - Number(ms);
  if (!Number.isFinite(diff)) return "never";
  const abs = Math.abs(diff);
  if (abs < 1000) return "now";
  let text;
  if (abs < 60_000) text = `${Math.floor(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.floor(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.floor(abs / 3_600_000)} h`;
  else text = `${Math.floor(abs / 86_400_000)} d`;
  return diff > 0 ? `${text} ago` : `in ${text}`;
}
