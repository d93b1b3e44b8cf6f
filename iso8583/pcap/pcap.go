// Package pcap reads the TCP payloads of a capture file (libpcap format) so that ISO 8583 frames
// captured on a link can be decoded: it follows each direction of each TCP connection and joins
// its payloads in capture order. It does not reorder segments or drop retransmissions.
package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// Stream is the bytes one side of a TCP connection sent, in capture order.
type Stream struct {
	Src, Dst netip.AddrPort
	Data     []byte
}

// ErrFormat is wrapped by every problem with the capture.
var ErrFormat = errors.New("pcap")

// Limits.
const (
	// fileMax bounds the capture read (a guard against naming the wrong file).
	fileMax = 256 << 20
	// snapMax bounds one packet record.
	snapMax = 1 << 18
)

// Link types handled.
const (
	linkNull     = 0   // BSD loopback: 4-byte address family
	linkEthernet = 1   // Ethernet II, with 802.1Q tags
	linkRaw      = 101 // raw IPv4/IPv6
	linkSLL      = 113 // Linux cooked capture v1
	linkSLL2     = 276 // Linux cooked capture v2
)

// Read reads a classic libpcap file and returns its TCP streams in the order they first appear.
func Read(r io.Reader) ([]Stream, error) {
	raw, err := io.ReadAll(io.LimitReader(r, fileMax+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(raw) > fileMax {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, fileMax)
	}
	if len(raw) < 24 {
		return nil, fmt.Errorf("%w: not a capture file (shorter than its header)", ErrFormat)
	}
	var order binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(raw); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: not a libpcap file (magic %08x; pcapng is not read: convert it with editcap -F pcap)", ErrFormat, m)
	}
	link := order.Uint32(raw[20:]) & 0x0FFFFFFF
	streams := map[[2]netip.AddrPort]*Stream{}
	var list []*Stream
	for pos := 24; pos < len(raw); {
		if len(raw)-pos < 16 {
			return nil, fmt.Errorf("%w: packet record at byte %d cut short", ErrFormat, pos)
		}
		incl := int(order.Uint32(raw[pos+8:]))
		pos += 16
		if incl > snapMax || incl > len(raw)-pos {
			return nil, fmt.Errorf("%w: packet record at byte %d cut short", ErrFormat, pos-16)
		}
		pkt := raw[pos : pos+incl]
		pos += incl
		src, dst, payload, ok := tcpPayload(link, pkt)
		if !ok || len(payload) == 0 {
			continue
		}
		key := [2]netip.AddrPort{src, dst}
		s := streams[key]
		if s == nil {
			s = &Stream{Src: src, Dst: dst}
			streams[key] = s
			list = append(list, s)
		}
		s.Data = append(s.Data, payload...)
	}
	out := make([]Stream, len(list))
	for i, s := range list {
		out[i] = *s
	}
	return out, nil
}

// tcpPayload digs the TCP payload out of one captured packet.
func tcpPayload(link uint32, p []byte) (src, dst netip.AddrPort, payload []byte, ok bool) {
	var ip []byte
	switch link {
	case linkNull:
		if len(p) < 4 {
			return
		}
		ip = p[4:]
	case linkEthernet:
		if len(p) < 14 {
			return
		}
		et, off := binary.BigEndian.Uint16(p[12:]), 14
		for et == 0x8100 || et == 0x88a8 {
			if len(p) < off+4 {
				return
			}
			et, off = binary.BigEndian.Uint16(p[off+2:]), off+4
		}
		ip = p[off:]
	case linkRaw:
		ip = p
	case linkSLL:
		if len(p) < 16 {
			return
		}
		ip = p[16:]
	case linkSLL2:
		if len(p) < 20 {
			return
		}
		ip = p[20:]
	default:
		return
	}
	var sa, da netip.Addr
	var tcp []byte
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		ihl := int(ip[0]&0x0F) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ip[9] != 6 || ihl < 20 || total < ihl || total > len(ip) {
			return
		}
		sa, da = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		tcp = ip[ihl:total]
	case len(ip) >= 40 && ip[0]>>4 == 6:
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if ip[6] != 6 || 40+plen > len(ip) {
			return // extension headers are not followed
		}
		sa, da = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		tcp = ip[40 : 40+plen]
	default:
		return
	}
	if len(tcp) < 20 {
		return
	}
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > len(tcp) {
		return
	}
	src = netip.AddrPortFrom(sa, binary.BigEndian.Uint16(tcp[0:]))
	dst = netip.AddrPortFrom(da, binary.BigEndian.Uint16(tcp[2:]))
	return src, dst, tcp[off:], true
}
