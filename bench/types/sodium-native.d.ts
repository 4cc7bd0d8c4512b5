// The part of sodium-native's API the codec benchmark uses (the package ships no types).
declare module 'sodium-native' {
  const sodium: {
    readonly crypto_secretbox_KEYBYTES: number
    readonly crypto_secretbox_NONCEBYTES: number
    readonly crypto_secretbox_MACBYTES: number
    randombytes_buf(buffer: Buffer): void
    crypto_secretbox_easy(cipher: Buffer, message: Buffer, nonce: Buffer, key: Buffer): void
    crypto_secretbox_open_easy(message: Buffer, cipher: Buffer, nonce: Buffer, key: Buffer): boolean
  }
  export default sodium
}
