import { inflateSync } from 'node:zlib'

/** An 8-bit RGB(A) image decoded from a PNG: `pixels` holds `channels` bytes per pixel, row by row. */
export interface DecodedPng {
  width: number
  height: number
  channels: 3 | 4
  pixels: Buffer
}

/**
 * Decodes a non-interlaced 8-bit truecolour PNG (what Chromium's `--screenshot` writes), so a test
 * can look at pixels instead of trusting that a file of some size is a picture.
 */
export function decodePng(png: Buffer): DecodedPng {
  if (!png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    throw new Error('not a PNG')
  let offset = 8
  let width = 0
  let height = 0
  let channels: 3 | 4 = 4
  const idat: Buffer[] = []
  while (offset < png.length) {
    const length = png.readUInt32BE(offset)
    const type = png.toString('latin1', offset + 4, offset + 8)
    const data = png.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      const [depth, colorType, , , interlace] = data.subarray(8, 13)
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0)
        throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${interlace}`)
      channels = colorType === 6 ? 4 : 3
    } else if (type === 'IDAT') idat.push(data)
    else if (type === 'IEND') break
    offset += 12 + length
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0
      let predictor = 0
      if (filter === 1) predictor = a
      else if (filter === 2) predictor = b
      else if (filter === 3) predictor = (a + b) >> 1
      else if (filter === 4) {
        const p = a + b - c
        const pa = Math.abs(p - a)
        const pb = Math.abs(p - b)
        const pc = Math.abs(p - c)
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      }
      pixels[y * stride + x] = (line[x]! + predictor) & 0xff
    }
  }
  return { width, height, channels, pixels }
}

/** How many pixels are within `tolerance` (per channel) of an `#rrggbb` colour. */
export function countPixels(image: DecodedPng, hex: string, tolerance = 24): number {
  const target = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16))
  let count = 0
  for (let i = 0; i < image.pixels.length; i += image.channels) {
    if (target.every((v, k) => Math.abs(image.pixels[i + k]! - v) <= tolerance)) count++
  }
  return count
}

/**
 * The share (0–1) of pixels inside a box (CSS pixels at device scale 1, as Chromium's headless
 * screenshot is) within `tolerance` of an `#rrggbb` colour, and how many pixels the box held.
 */
export function shareOfColour(
  image: DecodedPng,
  box: { x: number; y: number; width: number; height: number },
  hex: string,
  tolerance = 12,
): { share: number; pixels: number } {
  const target = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16))
  const x0 = Math.max(0, Math.ceil(box.x))
  const y0 = Math.max(0, Math.ceil(box.y))
  const x1 = Math.min(image.width, Math.floor(box.x + box.width))
  const y1 = Math.min(image.height, Math.floor(box.y + box.height))
  let pixels = 0
  let matching = 0
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * image.width + x) * image.channels
      pixels++
      if (target.every((v, k) => Math.abs(image.pixels[i + k]! - v) <= tolerance)) matching++
    }
  return { share: pixels ? matching / pixels : 0, pixels }
}
