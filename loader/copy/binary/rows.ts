import type { Hash } from "node:crypto";
import { ChunkedOutput } from "../chunks";
import type { RowSink } from "../row-sink";
import { TextRows } from "../text-rows";
import type { AcceptedPrice, PriceField, QuantityField } from "./fields";
import type { ValidSale } from "../../rules/validate";

/** COPY binary's header: signature, flags, header extension length (PostgreSQL's "COPY", "Binary Format"). */
const HEADER = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);
const TRAILER = -1;
const FIELDS = 3;
const NULL_FIELD = -1;
/** A product this long or shorter is copied in 4-byte words: cheaper than a call into Buffer.copy. */
const SHORT_PRODUCT = 64;

/** What a binary row needs of the validator: the values of the line its byte path last accepted. */
export interface AcceptedSale extends AcceptedPrice {
  readonly acceptedQuantity: number;
}

/**
 * Valid rows as COPY binary (`FORMAT binary`): each value in its type's binary form, which the server only copies
 * into the row, instead of text it parses again (float4in, int4in). The product is its UTF-8 bytes, as textrecv
 * takes them. The rows' COPY text is gathered and hashed all the same (by a TextRows that sends nothing), so that
 * the report's sha256 does not depend on the format: gathered, runs of byte-path lines cost one copy each, and the
 * hash takes 64 KiB at a time (a hash update per run cost twice a copy).
 */
export class BinaryRows extends ChunkedOutput implements RowSink {
  private view: DataView;
  /** The rows' COPY text, for the hash only. */
  private readonly text: TextRows;
  /** Bytes a row takes besides its product. */
  private readonly fieldBytes: number;
  /** A view of the input buffer the last line came in, to read its product 4 bytes at a time. */
  private lineBytes: Buffer | null = null;
  private lineView: DataView | null = null;

  constructor(
    chunkSize: number,
    send: (bytes: Buffer) => void,
    hash: Hash,
    private readonly accepted: AcceptedSale,
    private readonly price: PriceField,
    private readonly quantity: QuantityField,
  ) {
    super(chunkSize, send);
    this.view = new DataView(this.out.buffer, this.out.byteOffset, this.out.length);
    this.text = new TextRows(chunkSize, () => undefined, hash, true);
    this.used = HEADER.copy(this.out, 0);
    this.fieldBytes = 2 + 4 + price.bytes + quantity.bytes;
  }

  addLine(bytes: Buffer, start: number, firstTab: number, end: number): void {
    const productLength = firstTab - start;
    this.reserve(productLength + this.fieldBytes);
    const view = this.view;
    let pos = this.used;
    view.setInt16(pos, FIELDS);
    view.setInt32(pos + 2, productLength);
    pos += 6;
    if (productLength <= SHORT_PRODUCT) {
      if (bytes !== this.lineBytes) {
        this.lineBytes = bytes;
        this.lineView = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      }
      // Whole words, the last one running past the product: it reads into the line's price (at least 4 bytes
      // follow the product), and the price's field overwrites what it wrote past the product.
      const line = this.lineView as DataView;
      const productEnd = pos + productLength;
      for (let i = start; i < firstTab; i += 4, pos += 4) view.setUint32(pos, line.getUint32(i));
      pos = productEnd;
    } else {
      pos += bytes.copy(this.out, pos, start, firstTab);
    }
    pos = this.price.writeAccepted(view, pos, this.accepted);
    this.used = this.quantity.write(view, pos, this.accepted.acceptedQuantity);
    if (this.used >= this.chunkSize) this.emit();

    this.text.addLine(bytes, start, firstTab, end);
  }

  addSale(sale: ValidSale, plain: boolean): void {
    const { product, price, quantity } = sale;
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    this.reserve((product === null ? 0 : product.length * 3) + this.fieldBytes);
    const view = this.view;
    let pos = this.used;
    view.setInt16(pos, FIELDS);
    pos += 2;
    if (product === null) {
      view.setInt32(pos, NULL_FIELD);
      pos += 4;
    } else {
      const length = this.out.write(product, pos + 4);
      view.setInt32(pos, length);
      pos += 4 + length;
    }
    if (price === null) {
      view.setInt32(pos, NULL_FIELD);
      pos += 4;
    } else {
      pos = this.price.writeText(view, pos, price);
    }
    if (quantity === null) {
      view.setInt32(pos, NULL_FIELD);
      pos += 4;
    } else {
      pos = this.quantity.write(view, pos, Number(quantity));
    }
    this.used = pos;
    if (this.used >= this.chunkSize) this.emit();
    this.text.addSale(sale, plain);
  }

  flush(): void {
    this.text.flush();
  }

  end(): void {
    this.text.end();
    this.reserve(2);
    this.view.setInt16(this.used, TRAILER);
    this.used += 2;
    this.emit();
  }

  protected override replace(out: Buffer): void {
    super.replace(out);
    this.view = new DataView(out.buffer, out.byteOffset, out.length);
  }
}
