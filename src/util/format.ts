/** Sizes as Docker prints them: decimal units, three significant digits ("10.2MB", "438kB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 ? 0 : value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${Number(value.toFixed(digits))}${units[unit]}`;
}

/** "3 seconds ago", "2 hours ago", "5 weeks ago", like Docker's CREATED column. */
export function timeAgo(iso: string | undefined, now = Date.now()): string {
  if (iso === undefined) return 'N/A';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return 'N/A';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [7, 'day'],
    [52, 'week'],
    [Infinity, 'year'],
  ];
  let value = seconds;
  for (const [size, name] of steps) {
    if (value < size) {
      if (name === 'second' && value < 1) return 'Less than a second ago';
      return `${value} ${name}${value === 1 ? '' : 's'} ago`;
    }
    value = Math.floor(value / size);
  }
  return 'a long time ago';
}
