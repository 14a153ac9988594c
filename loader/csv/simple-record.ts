/**
 * The fields of one record that holds a quote, when it is of the simple kind that most quoted records are (one
 * line, each field either without quotes or wholly quoted, `""` standing for a quote inside): exactly what csv-parse
 * gives for it, found with a few searches instead of csv-parse's character-by-character parse, which cost about 3 µs
 * per quoted line of the bench's file. Null for anything else, which csv-parse then parses and, for a malformed
 * record, names the error of: a record over more than one line, a CR in it, a quote inside an unquoted field, text
 * after a closing quote, a quote left open. The caller offers only records within csv-parse's size limit (which
 * counts bytes of field content): those csv-parse also rejects as too long.
 */
export function simpleRecord(text: string): string[] | null {
  const end = text.endsWith("\r\n") ? text.length - 2 : text.endsWith("\n") ? text.length - 1 : text.length;
  const body = text.slice(0, end);
  if (body.includes("\n") || body.includes("\r")) return null;
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    let field: string;
    if (body.charCodeAt(at) === QUOTE) {
      field = "";
      let from = at + 1;
      for (;;) {
        const quote = body.indexOf('"', from);
        if (quote === -1) return null; // left open
        field += body.slice(from, quote);
        if (body.charCodeAt(quote + 1) !== QUOTE) {
          at = quote + 1;
          break;
        }
        field += '"';
        from = quote + 2;
      }
      if (at < end && body.charCodeAt(at) !== COMMA) return null; // text after the closing quote
    } else {
      const comma = body.indexOf(",", at);
      field = body.slice(at, comma === -1 ? end : comma);
      if (field.includes('"')) return null; // a quote inside an unquoted field
      at = comma === -1 ? end : comma;
    }
    fields.push(field);
    if (at >= end) return fields;
    at++; // past the comma; a comma at the end leaves one empty field
    if (at === end) {
      fields.push("");
      return fields;
    }
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
