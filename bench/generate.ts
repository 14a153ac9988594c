import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { seededRandom } from "./random";

/** How the generated file's rows break down. */
export interface GeneratedMix {
  readonly rows: number;
  readonly invalid: number;
  readonly quoted: number;
}

const PRODUCTS = [
  "Chicken Breast 500g",
  "Lamb Mince 1kg",
  "Beef Sausages",
  "Basmati Rice 5kg",
  "Dates Medjool",
  "Olive Oil 1L",
  "Chickpeas Tin",
  "Turkey Slices",
  "Samosa Pack",
  "Baklava Box",
];

/**
 * Sales data as users have it, for the rules in data/config.yaml: about 5% invalid rows of the common kinds
 * (missing product, wrong prefix, bad price, three decimals, quantity out of range), about 1% quoted product names
 * (a comma, or a doubled quote, inside), CRLF-free. With `clean`, every row is valid and none is quoted.
 */
export async function generateSales(file: string, rows: number, clean = false): Promise<GeneratedMix> {
  const next = seededRandom(rows);
  const out = createWriteStream(file);
  let buffer = "product,price,quantity\n";
  let invalid = 0;
  let quoted = 0;
  for (let i = 0; i < rows; i++) {
    const name = `${PRODUCTS[i % PRODUCTS.length]} ${i % 997}`;
    const price = `${10 + Math.floor(next() * 990)}.${String(Math.floor(next() * 100)).padStart(2, "0")}`;
    const quantity = 1 + Math.floor(next() * 100);
    const roll = clean ? 1 : next();
    if (roll < 0.05) {
      invalid++;
      const kind = Math.floor(roll * 100); // 0..4, evenly
      if (kind === 0) buffer += `,${price},${quantity}\n`;
      else if (kind === 1) buffer += `Generic ${name},${price},${quantity}\n`;
      else if (kind === 2)
        buffer += `Halal ${name},${i % 2 ? "n/a" : `"${price.replace(".", ",")}"`},${quantity}\n`;
      else if (kind === 3) buffer += `Halal ${name},${price}9,${quantity}\n`;
      else buffer += `Halal ${name},${price},${i % 2 ? 0 : 100 + quantity}\n`;
    } else if (roll < 0.06) {
      quoted++;
      const product = i % 3 ? `Halal ${name}, family pack` : `Halal ${name} 12"" tray`;
      buffer += `"${product}",${price},${quantity}\n`;
    } else {
      buffer += `Halal ${name},${price},${quantity}\n`;
    }
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
  return { rows, invalid, quoted };
}
