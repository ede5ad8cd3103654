/** Shamir t-of-m secret sharing over GF(2^8) with the AES polynomial 0x11B, byte for byte
 * the same as backend/core/seal/shamir.py (share x = 1..255; Lagrange at 0). */

export interface Share {
  x: number;
  value: Uint8Array;
}

const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  let value = 1;
  for (let power = 0; power < 255; power++) {
    EXP[power] = value;
    LOG[value] = power;
    let doubled = value << 1; // multiply by the generator 0x03 = x + 1
    if (doubled & 0x100) doubled ^= 0x11b;
    value = doubled ^ value;
  }
  for (let power = 255; power < 510; power++) EXP[power] = EXP[power - 255];
}

function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

function inverse(a: number): number {
  if (a === 0) throw new RangeError("0 has no inverse in GF(2^8)");
  return EXP[255 - LOG[a]];
}

/** `count` shares of `secret`, any `threshold` of which give it back. */
export function splitSecret(secret: Uint8Array, threshold: number, count: number): Share[] {
  if (!(1 <= threshold && threshold <= count && count <= 255)) {
    throw new RangeError(`threshold ${threshold} of ${count} shares: need 1 <= t <= m <= 255`);
  }
  const values = Array.from({ length: count }, () => new Uint8Array(secret.length));
  const random = new Uint8Array(Math.max(0, threshold - 1));
  secret.forEach((byte, position) => {
    crypto.getRandomValues(random);
    const coefficients = [byte, ...random];
    for (let index = 0; index < count; index++) {
      let result = 0;
      for (let c = coefficients.length - 1; c >= 0; c--) {
        result = mul(result, index + 1) ^ coefficients[c];
      }
      values[index][position] = result;
    }
  });
  return values.map((value, index) => ({ x: index + 1, value }));
}

/** The secret from `threshold` distinct shares (fewer give a meaningless value). */
export function combineShares(shares: readonly Share[]): Uint8Array {
  if (shares.length === 0) throw new RangeError("no shares to combine");
  const xs = shares.map((share) => share.x);
  if (new Set(xs).size !== xs.length || xs.some((x) => x < 1 || x > 255)) {
    throw new RangeError(`share indices must be distinct and in 1..255, got ${xs.join(",")}`);
  }
  const length = shares[0].value.length;
  if (shares.some((share) => share.value.length !== length)) {
    throw new RangeError("shares have different lengths");
  }
  const weights = xs.map((xj, j) => {
    let numerator = 1;
    let denominator = 1;
    xs.forEach((xk, k) => {
      if (k !== j) {
        numerator = mul(numerator, xk);
        denominator = mul(denominator, xk ^ xj);
      }
    });
    return mul(numerator, inverse(denominator));
  });
  const secret = new Uint8Array(length);
  shares.forEach((share, index) => {
    share.value.forEach((byte, position) => {
      secret[position] ^= mul(weights[index], byte);
    });
  });
  return secret;
}
