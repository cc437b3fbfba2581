package oss

import "hash/crc64"

// crc64Combine returns the CRC-64/ECMA (as Go's hash/crc64 computes it) of
// the concatenation A||B given crcA = CRC(A), crcB = CRC(B) and len(B).
// It lets CompleteMultipartUpload report the whole object's CRC from the
// part CRCs computed at upload time, without reading the object again.
// This is zlib's crc32_combine (GF(2) matrix squaring) for 64-bit words.
func crc64Combine(crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [64]uint64
	// odd: operator for one zero bit.
	odd[0] = crc64.ECMA
	row := uint64(1)
	for n := 1; n < 64; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2MatrixSquare(even[:], odd[:]) // two zero bits
	gf2MatrixSquare(odd[:], even[:]) // four zero bits
	for {
		// Apply len(B) zero bytes to crcA, one bit of lenB at a time.
		gf2MatrixSquare(even[:], odd[:])
		if lenB&1 != 0 {
			crcA = gf2MatrixTimes(even[:], crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
		gf2MatrixSquare(odd[:], even[:])
		if lenB&1 != 0 {
			crcA = gf2MatrixTimes(odd[:], crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

func gf2MatrixTimes(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2MatrixSquare(square, mat []uint64) {
	for n := range 64 {
		square[n] = gf2MatrixTimes(mat, mat[n])
	}
}
