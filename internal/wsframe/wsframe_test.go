package wsframe

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAppendHeader: the three length classes, masked and not, byte by byte
// as RFC 6455 section 5.2 lays them out.
func TestAppendHeader(t *testing.T) {
	for _, c := range []struct {
		fin    bool
		op     byte
		n      uint64
		masked bool
		want   []byte
	}{
		{true, OpText, 5, false, []byte{0x81, 5}},
		{false, OpContinuation, 125, false, []byte{0x00, 125}},
		{true, OpBinary, 126, false, []byte{0x82, 126, 0, 126}},
		{true, OpText, 65535, false, []byte{0x81, 126, 0xff, 0xff}},
		{true, OpText, 65536, false, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{true, OpText, 5, true, []byte{0x81, 0x85, 0x78, 0x56, 0x34, 0x12}},
		{true, OpClose, 300, true, []byte{0x88, 0xfe, 1, 44, 0x78, 0x56, 0x34, 0x12}},
	} {
		if got := AppendHeader(nil, c.fin, c.op, c.n, c.masked, 0x12345678); !bytes.Equal(got, c.want) {
			t.Errorf("AppendHeader(%v, %#x, %d, %v) = % x, want % x", c.fin, c.op, c.n, c.masked, got, c.want)
		}
	}
}

// TestMask: masking at any offset and length equals the byte-wise rule
// payload[i] ^ key[(pos+i) % 4], and masking twice restores the payload.
func TestMask(t *testing.T) {
	key := uint32(0x12345678)
	kb := []byte{0x78, 0x56, 0x34, 0x12}
	data := make([]byte, 37)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for pos := 0; pos < 5; pos++ {
		for n := 0; n <= len(data); n++ {
			got := bytes.Clone(data[:n])
			Mask(got, key, pos)
			for i := range got {
				if want := data[i] ^ kb[(pos+i)%4]; got[i] != want {
					t.Fatalf("pos %d, len %d: byte %d = %#x, want %#x", pos, n, i, got[i], want)
				}
			}
			Mask(got, key, pos)
			if !bytes.Equal(got, data[:n]) {
				t.Fatalf("pos %d, len %d: masking twice changed the data", pos, n)
			}
		}
	}
}
