/** Renders rows the way psql's aligned format does: centred headers, numbers right-aligned, a row count. */
export function formatPsqlTable(
  columns: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const cells = rows.map((row) => row.map((value) => (value === null ? "" : String(value))));
  const numeric = columns.map((_, i) => rows.every((row) => row[i] === null || typeof row[i] === "number"));
  const widths = columns.map((name, i) =>
    Math.max(name.length, ...cells.map((row) => (row[i] ?? "").length)),
  );
  const centre = (text: string, width: number) => {
    const left = Math.floor((width - text.length) / 2);
    return " ".repeat(left) + text + " ".repeat(width - text.length - left);
  };
  const lines = [
    columns.map((name, i) => ` ${centre(name, widths[i] ?? 0)} `).join("|"),
    widths.map((width) => "-".repeat(width + 2)).join("+"),
    ...cells.map((row) =>
      row
        .map((cell, i) => ` ${numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)} `)
        .join("|"),
    ),
    `(${rows.length} ${rows.length === 1 ? "row" : "rows"})`,
  ];
  return lines.map((line) => line.trimEnd()).join("\n");
}
