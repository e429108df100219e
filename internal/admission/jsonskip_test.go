package admission

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestQuoteOrBackslashFindsTheFirst: the lowest byte quoteOrBackslash
// marks is the first quote or backslash of the eight bytes, for every
// placement of them among bytes chosen to provoke borrows (0x00, 0x01,
// 0x21, 0x23, 0x5b, 0x5d, 0x80, 0xff, the two targets) and for random
// words.
func TestQuoteOrBackslashFindsTheFirst(t *testing.T) {
	t.Parallel()
	alphabet := []byte{0x00, 0x01, '"', '\\', 0x21, 0x23, 0x5b, 0x5d, 0x80, 0xff}
	check := func(w [8]byte) {
		want := 8
		for i, c := range w {
			if c == '"' || c == '\\' {
				want = i
				break
			}
		}
		got := 8
		if m := quoteOrBackslash(binary.LittleEndian.Uint64(w[:])); m != 0 {
			got = bits.TrailingZeros64(m) / 8
		}
		if got != want {
			t.Fatalf("%q: first at %d, marked %d", w[:], want, got)
		}
	}
	// Every word over the alphabet in the first five bytes, the rest varied.
	var w [8]byte
	var rec func(int)
	rec = func(pos int) {
		if pos == 5 {
			for _, c := range alphabet {
				w[5], w[6], w[7] = c, alphabet[(int(c)+1)%len(alphabet)], alphabet[(int(c)+3)%len(alphabet)]
				check(w)
			}
			return
		}
		for _, c := range alphabet {
			w[pos] = c
			rec(pos + 1)
		}
	}
	rec(0)
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		check(w)
	}
}
