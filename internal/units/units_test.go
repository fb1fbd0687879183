package units

import "testing"

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 600000: "585.9 KiB",
		8 << 20: "8 MiB", 3 << 30: "3 GiB", 1<<40 + 1<<39: "1.5 TiB", -2048: "-2 KiB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
