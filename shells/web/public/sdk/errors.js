// The error a refused request or subscription rejects with.

/** A refusal: `code` is the protocol's reject or error code, or `lost`/`closed`. */
export class OnbeatError extends Error {
  constructor(code, message) {
    super(message ?? code);
    this.name = 'OnbeatError';
    this.code = code;
  }
}
