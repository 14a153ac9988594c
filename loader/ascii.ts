/** Byte values of the ASCII characters that the byte-level readers of prices, quantities and lines look for. */
export const TAB = 0x09;
export const LF = 0x0a;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const ZERO = 0x30;
export const NINE = 0x39;
