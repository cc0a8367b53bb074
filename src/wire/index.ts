// Public API of wire/: parsing queries from bytes, names, section encoding and response assembly.
export * from './constants.js';
export {
  NameError,
  ROOT,
  absoluteName,
  isSubdomain,
  keyToText,
  keyToWire,
  lowerByte,
  nameFromText,
  nameKey,
  nameLength,
  nameToText,
  parentKey,
  readName,
  replaceSuffix,
  skipName,
} from './name.js';
export type { ReadName } from './name.js';
export { QueryStatus, encodeQuery, newQuery, parseQuery, resetQuery } from './query.js';
export type { OutgoingQuery, Query } from './query.js';
export {
  ANCOUNT,
  ARCOUNT,
  NSCOUNT,
  QDCOUNT,
  answerTtlMin,
  firstRecord,
  lastRecordRdlen,
  newEdns,
  readOpt,
  readRecord,
  recordAt,
  skipQuestions,
  soaMinimum,
  soaSerial,
  u16,
  u32,
} from './reader.js';
export type { Edns, RecordAt } from './reader.js';
export { EMPTY_SECTIONS, Section, SectionWriter } from './writer.js';
export type { Cut, PointerShift, Sections, WireRecord } from './writer.js';
export { buildResponse, padResponse, shiftPointers } from './response.js';
export type { ResponseParts, TtlPatch } from './response.js';
export { OPT_FIXED_LEN, encodeOption } from './opt.js';
export type { ResponseOpt } from './opt.js';
export { parseMessage } from './message.js';
export type { Message } from './message.js';
export { FrameReader, MAX_FRAME, frame } from './tcp.js';
export {
  TSIG_ALGORITHMS,
  TYPE_TSIG,
  TsigError,
  tsigKeyFromText,
  tsigKeyToText,
  tsigLength,
  tsigSign,
  tsigUnsigned,
  tsigVerify,
} from './tsig.js';
export type {
  SignOptions,
  TsigAlgorithm,
  TsigKey,
  TsigKeyText,
  TsigStatus,
  TsigVerdict,
  VerifyOptions,
} from './tsig.js';
