package pcap

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// Capture builds a libpcap file of Ethernet/IPv4/TCP packets, for tests.
func Capture(packets ...Packet) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], linkEthernet)
	b.Write(hdr)
	for _, p := range packets {
		frame := make([]byte, 14+20+20, 14+20+20+len(p.Payload))
		binary.BigEndian.PutUint16(frame[12:], 0x0800)
		ip := frame[14:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(40+len(p.Payload)))
		ip[8], ip[9] = 64, 6
		copy(ip[12:], []byte{127, 0, 0, 1})
		copy(ip[16:], []byte{127, 0, 0, 1})
		tcp := ip[20:]
		binary.BigEndian.PutUint16(tcp[0:], p.SrcPort)
		binary.BigEndian.PutUint16(tcp[2:], p.DstPort)
		tcp[12] = 5 << 4
		frame = append(frame, p.Payload...)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		b.Write(rec)
		b.Write(frame)
	}
	return b.Bytes()
}

// Packet is one TCP segment of a test capture.
type Packet struct {
	SrcPort, DstPort uint16
	Payload          []byte
}

func TestReadJoinsEachDirection(t *testing.T) {
	file := Capture(
		Packet{40000, 8583, []byte{0x00, 0x04, '0', '8'}},
		Packet{8583, 40000, []byte{0x00, 0x04}},
		Packet{40000, 8583, []byte{'0', '0'}},
		Packet{40000, 8583, nil},
	)
	streams, err := Read(bytes.NewReader(file))
	require.NoError(t, err)
	require.Len(t, streams, 2)
	require.Equal(t, "127.0.0.1:40000", streams[0].Src.String())
	require.Equal(t, []byte{0x00, 0x04, '0', '8', '0', '0'}, streams[0].Data)
	require.Equal(t, uint16(40000), streams[1].Dst.Port())

	_, err = Read(bytes.NewReader([]byte("not a capture file at all, no")))
	require.ErrorIs(t, err, ErrFormat)
	_, err = Read(bytes.NewReader(file[:len(file)-3]))
	require.ErrorIs(t, err, ErrFormat)
}

// FuzzRead: any input is read or refused, never a panic.
func FuzzRead(f *testing.F) {
	f.Add(Capture(Packet{1, 2, []byte("0800")}))
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = Read(bytes.NewReader(b)) })
}
