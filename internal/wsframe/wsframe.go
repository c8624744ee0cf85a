// Package wsframe writes websocket frame headers and masks payloads (RFC 6455
// section 5.2): the one frame writer of appws, used by the client's batching
// writer and by appwstest's server.
package wsframe

import (
	"encoding/binary"
	"math/bits"
)

// Opcodes (RFC 6455 section 5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// MaxHeader is the longest frame header: 2 bytes, 8 of extended length and
// 4 of masking key.
const MaxHeader = 14

// AppendHeader appends the header of a frame with opcode op announcing
// length payload bytes, FIN set if fin. With masked, key is the masking key
// (a client's frames are masked, a server's are not).
func AppendHeader(dst []byte, fin bool, op byte, length uint64, masked bool, key uint32) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var m byte
	if masked {
		m = 0x80
	}
	switch {
	case length <= 125:
		dst = append(dst, b0, m|byte(length))
	case length <= 0xFFFF:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, length)
	}
	if masked {
		dst = binary.LittleEndian.AppendUint32(dst, key)
	}
	return dst
}

// Mask XORs b, which starts at offset pos of a frame's payload, with the
// frame's masking key, 8 bytes at a time. key holds the key's bytes in
// little-endian order, as AppendHeader writes them.
func Mask(b []byte, key uint32, pos int) {
	k := bits.RotateLeft32(key, -8*(pos&3))
	k64 := uint64(k)<<32 | uint64(k)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= byte(k >> (8 * (i & 3)))
	}
}
