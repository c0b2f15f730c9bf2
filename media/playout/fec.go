package playout

// hasFEC reports whether an Opus packet carries in-band FEC (SILK's low bit-rate
// redundancy, LBRR) for the packet before it, as libopus 1.5's opus_packet_has_lbrr does;
// Debian 12's libopus 1.3 lacks that call. CELT-only packets never do. Without FEC data
// libopus's FEC decode is plain concealment, so this only keeps the statistics honest.
//
// RFC 6716 section 3.1 (TOC byte), 3.2 (frame packing) and 4.2.3 (the SILK header bits,
// VAD flags then LBRR flag, each coded with probability one half, so they are the first
// frame's leading bits).
func hasFEC(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	toc := p[0]
	config := toc >> 3
	if config >= 16 {
		return false // CELT only
	}
	// SILK frames inside one Opus frame: 10 and 20 ms have one, 40 ms two, 60 ms three.
	silkFrames := 1
	switch config & 3 {
	case 2:
		if config < 12 {
			silkFrames = 2
		}
	case 3:
		if config < 12 {
			silkFrames = 3
		}
	}
	stereo := toc&0x04 != 0
	off := 1
	switch toc & 3 {
	case 0, 1:
	case 2:
		if p[1] >= 252 {
			off++
		}
		off++
	case 3:
		count := int(p[1] & 0x3f)
		vbr, padded := p[1]&0x80 != 0, p[1]&0x40 != 0
		off = 2
		if padded {
			for off < len(p) && p[off] == 255 {
				off++
			}
			off++
		}
		if vbr {
			for i := 0; i < count-1; i++ {
				if off >= len(p) {
					return false
				}
				if p[off] >= 252 {
					off++
				}
				off++
			}
		}
	}
	if off >= len(p) {
		return false
	}
	b := p[off]
	lbrr := (b>>(7-silkFrames))&1 != 0
	if stereo {
		lbrr = lbrr || (b>>(6-2*silkFrames))&1 != 0
	}
	return lbrr
}
