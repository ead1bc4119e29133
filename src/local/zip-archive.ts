/**
 * A zip archive of a few files at its root, as the CDK CLI uploads a folder asset: deflated entries with a fixed
 * 1980-01-01 timestamp, so the same files make the same bytes. Local mode builds the processing jobs' shared-modules
 * archive with it, which Python imports from on `PYTHONPATH` as the cloud jobs do.
 */
import { deflateRawSync } from 'node:zlib';

/** One file of the archive. */
export interface ZipEntry {
  /** Its path in the archive (`/`-separated, relative). */
  readonly name: string;
  readonly data: Buffer;
}

/* eslint-disable no-bitwise -- CRC-32 is bit arithmetic */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC), as zip stores it. */
export function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/* eslint-enable no-bitwise */

/** MS-DOS date of 1980-01-01 at 00:00:00: year 0 (bits 9-15), month 1 (bits 5-8), day 1 (bits 0-4). */
const DOS_DATE = 1 * 32 + 1;
const DOS_TIME = 0;
const DEFLATE = 8;
const VERSION = 20;
/** Regular file, rw-r--r--, in the upper 16 bits of the external attributes (Unix). */
const EXTERNAL_ATTRIBUTES = 0o100644 * 0x10000;
/** Made by Unix (3, the upper byte), zip version 2.0. */
const MADE_BY_UNIX = 3 * 0x100 + VERSION;

/** The archive's bytes. */
export function zipArchive(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    if (!entry.name || entry.name.startsWith('/') || entry.name.split('/').includes('..')) {
      throw new Error(`zip entry name ${JSON.stringify(entry.name)} must be a relative path`);
    }
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data);
    const crc = crc32(entry.data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(VERSION, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(DEFLATE, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra field, comment, disk number and internal attributes stay 0
    central.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
