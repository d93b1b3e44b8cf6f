package main

// cardswitch iso: decode a captured frame, build one, or export a built-in spec, under any spec
// (CONTRACT §3; docs/iso8583.md).

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/iso8583/pcap"
)

func newISOCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "iso",
		Short: "Decode or build ISO 8583 frames, and export specs, under any spec",
	}
	cmd.AddCommand(newISODecodeCmd(), newISOEncodeCmd(), newISOSpecCmd())
	return cmd
}

// isoFlags are the dialect flags every iso subcommand takes.
type isoFlags struct {
	spec, header, framing string
}

func (f *isoFlags) register(cmd *cobra.Command, framingDefault, framingHelp string) {
	cmd.Flags().StringVar(&f.spec, "spec", iso8583.SpecContract, "spec: contract, moov-spec87ascii, moov-spec87hex, or a moov-io JSON spec file")
	cmd.Flags().StringVar(&f.header, "header", "", "message header after the length: tpdu:<10 hex digits>, hex:<bytes> or ascii:<text>")
	cmd.Flags().StringVar(&f.framing, "framing", framingDefault, framingHelp)
}

// load resolves the flags; framing is nil for "none".
func (f *isoFlags) load() (*iso8583.Spec, iso8583.Header, iso8583.Framing, error) {
	spec, err := iso8583.LoadSpec(f.spec)
	if err != nil {
		return nil, iso8583.Header{}, nil, usagef("--spec: %v", err)
	}
	h, err := iso8583.ParseHeader(f.header)
	if err != nil {
		return nil, iso8583.Header{}, nil, usagef("--header: %v", err)
	}
	if f.framing == "none" {
		return spec, h, nil, nil
	}
	fr, err := iso8583.ParseFraming(f.framing)
	if err != nil {
		return nil, iso8583.Header{}, nil, usagef("--framing: %v", err)
	}
	return spec, h, fr, nil
}

// isoInputMax bounds what decode and encode read from standard input.
const isoInputMax = 16 << 20

func newISODecodeCmd() *cobra.Command {
	var f isoFlags
	var pcapFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "decode [HEX...]",
		Short: "Decode captured frames (hex arguments, hex lines on standard input, or a pcap file's TCP payloads) into named fields, PAN masked",
		RunE: func(cmd *cobra.Command, args []string) error {
			if pcapFile != "" && !cmd.Flags().Changed("framing") {
				f.framing = "binary2" // a capture holds the length prefixes
			}
			spec, h, fr, err := f.load()
			if err != nil {
				return err
			}
			d := decoder{spec: spec, header: h, framing: fr, json: asJSON, out: cmd.OutOrStdout()}
			if pcapFile != "" {
				if len(args) > 0 {
					return usagef("--pcap: give either a capture file or hex frames, not both")
				}
				return d.pcap(pcapFile)
			}
			if len(args) == 0 {
				args, err = hexLines(cmd.InOrStdin())
				if err != nil {
					return err
				}
			}
			for i, a := range args {
				raw, err := hex.DecodeString(strings.Join(strings.Fields(a), ""))
				if err != nil {
					return usagef("frame %d: not hex", i+1)
				}
				if err := d.frames(fmt.Sprintf("frame %d", i+1), raw); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.register(cmd, "none", "length prefix before each frame: none (default for hex input), binary2 (default for --pcap), ascii4 or bcd2")
	cmd.Flags().StringVar(&pcapFile, "pcap", "", "a libpcap capture file: every TCP payload is decoded, direction by direction")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per message instead of a table")
	return cmd
}

func hexLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(io.LimitReader(r, isoInputMax))
	sc.Buffer(make([]byte, 0, 64<<10), isoInputMax)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usagef("standard input: %v", err)
	}
	if len(out) == 0 {
		return nil, usagef("no frame: give hex frames as arguments, on standard input, or --pcap FILE")
	}
	return out, nil
}

// decoder prints decoded messages.
type decoder struct {
	spec    *iso8583.Spec
	header  iso8583.Header
	framing iso8583.Framing
	json    bool
	out     io.Writer
}

func (d decoder) pcap(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return usagef("--pcap: %v", err)
	}
	defer fh.Close()
	streams, err := pcap.Read(fh)
	if err != nil {
		return usagef("--pcap %s: %v", path, err)
	}
	if len(streams) == 0 {
		return usagef("--pcap %s: no TCP payload", path)
	}
	for _, s := range streams {
		if err := d.frames(s.Src.String()+" → "+s.Dst.String(), s.Data); err != nil {
			return err
		}
	}
	return nil
}

// frames decodes raw: one message, or with a framing every length-prefixed frame in it.
func (d decoder) frames(where string, raw []byte) error {
	if d.framing == nil {
		return d.message(where, raw)
	}
	r := bufio.NewReader(bytes.NewReader(raw))
	for n := 1; ; n++ {
		frame, err := iso8583.ReadFrame(r, d.framing, d.framing.MaxLength(), nil)
		if errors.Is(err, io.EOF) && n > 1 {
			return nil
		}
		if err != nil {
			return usagef("%s: frame %d: %s length: %v", where, n, d.framing.Name(), err)
		}
		if err := d.message(fmt.Sprintf("%s #%d", where, n), frame); err != nil {
			return err
		}
	}
}

// decodedMessage is what decode prints of one message.
type decodedMessage struct {
	Source string         `json:"source"`
	Header string         `json:"header,omitempty"`
	MTI    string         `json:"mti"`
	Fields []decodedField `json:"fields"`
	Error  string         `json:"error,omitempty"`
}

type decodedField struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (d decoder) message(where string, frame []byte) error {
	hdr, body, err := d.header.Split(frame)
	if err != nil {
		return usagef("%s: %v", where, err)
	}
	m, uerr := iso8583.UnpackPartial(d.spec, body)
	if m == nil {
		return usagef("%s: %v", where, uerr)
	}
	out := decodedMessage{Source: where, MTI: m.MTI, Header: strings.ToUpper(hex.EncodeToString(hdr))}
	for _, f := range m.Fields() {
		out.Fields = append(out.Fields, decodedField{ID: f.ID, Name: d.spec.FieldName(f.ID), Value: safeValue(f.ID, f.Value)})
	}
	if uerr != nil {
		out.Error = uerr.Error()
	}
	if d.json {
		b, _ := json.Marshal(out)
		fmt.Fprintln(d.out, string(b))
	} else {
		d.table(out)
	}
	if uerr != nil {
		return usagef("%s: %v", where, uerr)
	}
	return nil
}

func (d decoder) table(m decodedMessage) {
	fmt.Fprintf(d.out, "%s: MTI %s", m.Source, m.MTI)
	if m.Header != "" {
		fmt.Fprintf(d.out, ", header %s", m.Header)
	}
	fmt.Fprintln(d.out)
	for _, f := range m.Fields {
		fmt.Fprintf(d.out, "  %3d  %-44s %s\n", f.ID, trimTo(f.Name, 44), f.Value)
	}
}

func trimTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// safeValue is what a person may see of a field: the PAN masked 6+4, track data with its PAN
// masked and the rest hidden, PIN blocks and MACs hidden (CONTRACT §11).
func safeValue(id int, v string) string {
	switch id {
	case 2:
		return iso8583.MaskPAN(v)
	case 35, 45:
		pan := v
		if i := strings.IndexAny(v, "=D^"); i >= 0 {
			pan = v[:i]
		}
		pan = strings.TrimPrefix(pan, "B")
		return iso8583.MaskPAN(pan) + " (track data hidden)"
	case 52:
		return "(PIN block hidden)"
	}
	return strconv.QuoteToASCII(v)[1 : len(strconv.QuoteToASCII(v))-1]
}

// encodeInput is what encode reads: the MTI and the fields by number, as text (binary fields as
// hex).
type encodeInput struct {
	MTI    string            `json:"mti"`
	Fields map[string]string `json:"fields"`
}

func newISOEncodeCmd() *cobra.Command {
	var f isoFlags
	var file string
	cmd := &cobra.Command{
		Use:   "encode",
		Short: `Build a frame from JSON ({"mti": "0800", "fields": {"7": "1126143600", "11": "000001", "70": "301"}}) and print it as hex`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, h, fr, err := f.load()
			if err != nil {
				return err
			}
			in := cmd.InOrStdin()
			if file != "" {
				fh, err := os.Open(file)
				if err != nil {
					return usagef("--file: %v", err)
				}
				defer fh.Close()
				in = fh
			}
			var ei encodeInput
			dec := json.NewDecoder(io.LimitReader(in, isoInputMax))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ei); err != nil {
				return usagef("input: not a message in JSON ({\"mti\": ..., \"fields\": {...}}): %v", err)
			}
			m := &iso8583.Message{MTI: ei.MTI}
			ids := make([]int, 0, len(ei.Fields))
			for k, v := range ei.Fields {
				id, err := strconv.Atoi(k)
				if err != nil || id < 2 || id > 128 {
					return usagef("fields: %q is not a field number 2..128", k)
				}
				if v == "" {
					return usagef("fields: field %d is empty", id)
				}
				ids = append(ids, id)
				_ = v
			}
			sort.Ints(ids)
			for _, id := range ids {
				m.SetField(id, ei.Fields[strconv.Itoa(id)])
			}
			b, err := m.Pack(spec)
			if err != nil {
				return usagef("%v", err)
			}
			b = append(append([]byte(nil), h.Request()...), b...)
			if fr != nil {
				if b, err = iso8583.AppendFrame(nil, fr, b); err != nil {
					return usagef("--framing %s: %v", fr.Name(), err)
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.ToUpper(hex.EncodeToString(b)))
			return nil
		},
	}
	f.register(cmd, "none", "length prefix to put before the frame: none (default), binary2, ascii4 or bcd2")
	cmd.Flags().StringVar(&file, "file", "", "read the JSON message from this file instead of standard input")
	return cmd
}

func newISOSpecCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "spec", Short: "Export a built-in spec as moov-io JSON, or check a spec file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "export NAME",
		Short: "Print a built-in spec (" + strings.Join(iso8583.BuiltinSpecNames(), ", ") + ") as moov-io JSON, to start a spec of your own from",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := iso8583.LoadSpec(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			b, err := s.ExportJSON()
			if err != nil {
				return fmt.Errorf("spec %s: %w", args[0], err)
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}, &cobra.Command{
		Use:   "check NAME|FILE",
		Short: "Load a spec as the switch would and say how the codec runs it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := iso8583.LoadSpec(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			compiled, fallback := s.Compiled()
			n := 0
			for id := 2; id <= 128; id++ {
				if s.Defines(id) {
					n++
				}
			}
			how := "compiled codec"
			if !compiled {
				how = "moov-io (the MTI or bitmap is not one the compiled codec implements)"
			} else if len(fallback) > 0 {
				how = fmt.Sprintf("compiled codec; moov-io for fields %v", fallback)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok, %d fields, field 70 %s, %s\n", args[0], n, map[bool]string{true: "defined", false: "not defined"}[s.Defines(70)], how)
			return nil
		},
	})
	return cmd
}
