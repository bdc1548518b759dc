package bom

// cksum computes the CRC that POSIX cksum(1) prints and that Boms record
// for files and symlink targets: CRC-32 with polynomial 0x04C11DB7 fed most
// significant bit first, from 0, over the data and then over the data's
// length (least significant byte first, as few bytes as it takes), the
// result complemented. It is not hash/crc32's IEEE CRC, which reflects the
// bits and starts from all ones.
type cksum struct {
	crc uint32
	n   uint64
}

var cksumTable = func() (t [256]uint32) {
	const poly = 0x04C11DB7
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&(1<<31) != 0 {
				c = c<<1 ^ poly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func (c *cksum) Write(p []byte) (int, error) {
	crc := c.crc
	for _, b := range p {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^b]
	}
	c.crc = crc
	c.n += uint64(len(p))
	return len(p), nil
}

// Sum32 is the checksum of what was written so far.
func (c *cksum) Sum32() uint32 {
	crc := c.crc
	for n := c.n; n > 0; n >>= 8 {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^byte(n)]
	}
	return ^crc
}

func cksumString(s string) uint32 {
	var c cksum
	c.Write([]byte(s))
	return c.Sum32()
}
