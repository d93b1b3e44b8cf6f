package reconcile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Record is one message as an issuer received it, with its answer: a line of the issuer
// simulator's journal (`cardswitch issuer-sim --journal FILE`, JSON lines) or a row of an
// issuer's settlement file (CSV with the same names as its header). It holds what a
// reconciliation needs and no card data beyond the PAN masked to its first 6 and last 4 digits.
type Record struct {
	Time           time.Time `json:"time"`                         // when the issuer decided (UTC)
	MTI            string    `json:"mti"`                          // as received: 0100, 0200, 0120, 0220, 0400, 0420 or a repeat
	RRN            string    `json:"rrn"`                          // field 37
	STAN           string    `json:"stan"`                         // field 11 as the issuer received it
	Transmitted    string    `json:"transmitted"`                  // field 7, MMDDhhmmss
	Terminal       string    `json:"terminal,omitempty"`           // field 41
	AcquirerID     string    `json:"acquirer,omitempty"`           // field 32
	ProcessingCode string    `json:"processing_code"`              // field 3
	Amount         int64     `json:"amount"`                       // field 4, minor units of Currency
	Currency       string    `json:"currency"`                     // field 49
	ResponseCode   string    `json:"response_code"`                // field 39 of the answer; "" when none was given (the 99 rule)
	ApprovalCode   string    `json:"approval_code,omitempty"`      // field 38 of the answer
	OriginalData   string    `json:"original_data,omitempty"`      // field 90 (reversals, completions)
	Replacement    *int64    `json:"replacement_amount,omitempty"` // field 95's actual amount (a partial reversal), minor units
	PAN            string    `json:"pan"`                          // masked 6+4
}

// maxLine bounds one journal line or CSV row: a record is a few hundred bytes.
const maxLine = 64 << 10

// ReadStats says what reading a file skipped.
type ReadStats struct {
	Records int
	// Torn is set when the file's last line was incomplete (the writer was killed while writing
	// it) and was left out. A record is written before its answer leaves, so a torn one was never
	// answered.
	Torn bool
}

// ErrFormat is wrapped by every error about the content of an issuer file.
var ErrFormat = errors.New("issuer file")

// ReadRecords reads an issuer's records: JSON lines (a journal) when the first non-blank
// character is '{', CSV with a header row otherwise.
func ReadRecords(r io.Reader) ([]Record, ReadStats, error) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, ReadStats{}, nil // empty: an issuer that received nothing
			}
			return nil, ReadStats{}, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		case '{':
			return readJournal(br)
		}
		return readCSV(br)
	}
}

// readJournal reads JSON lines. Blank lines are skipped; an incomplete last line (no newline and
// not valid JSON) is tolerated as torn; any other line that does not parse is an error naming it.
func readJournal(r *bufio.Reader) ([]Record, ReadStats, error) {
	var (
		out   []Record
		stats ReadStats
	)
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, stats, fmt.Errorf("%w: line %d is longer than %d bytes", ErrFormat, n, maxLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, stats, err
		}
		last := errors.Is(err, io.EOF)
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			var rec Record
			if jerr := json.Unmarshal(trimmed, &rec); jerr != nil {
				if last {
					stats.Torn = true
					return out, stats, nil
				}
				return nil, stats, fmt.Errorf("%w: line %d: %v", ErrFormat, n, jerr)
			}
			if verr := rec.validate(); verr != nil {
				return nil, stats, fmt.Errorf("%w: line %d: %v", ErrFormat, n, verr)
			}
			out = append(out, rec)
			stats.Records++
		}
		if last {
			return out, stats, nil
		}
	}
}

// csvColumns are the CSV header names, the JSON names of Record; mti, rrn, amount and
// response_code are required, the others may be left out.
var csvColumns = []string{"time", "mti", "rrn", "stan", "transmitted", "terminal", "acquirer", "processing_code",
	"amount", "currency", "response_code", "approval_code", "original_data", "replacement_amount", "pan"}

var csvRequired = []string{"mti", "rrn", "amount", "response_code"}

func readCSV(r io.Reader) ([]Record, ReadStats, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, ReadStats{}, fmt.Errorf("%w: csv header: %v", ErrFormat, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !known(h) {
			return nil, ReadStats{}, fmt.Errorf("%w: csv header: unknown column %q (columns: %s)", ErrFormat, h, strings.Join(csvColumns, ","))
		}
		col[h] = i
	}
	for _, req := range csvRequired {
		if _, ok := col[req]; !ok {
			return nil, ReadStats{}, fmt.Errorf("%w: csv header: column %q is required", ErrFormat, req)
		}
	}
	var (
		out   []Record
		stats ReadStats
	)
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, stats, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, stats, fmt.Errorf("%w: csv: %v", ErrFormat, err)
		}
		rec, err := csvRecord(row, col)
		if err == nil {
			err = rec.validate()
		}
		if err != nil {
			return nil, stats, fmt.Errorf("%w: csv line %d: %v", ErrFormat, line, err)
		}
		out = append(out, rec)
		stats.Records++
	}
}

func known(name string) bool {
	for _, c := range csvColumns {
		if c == name {
			return true
		}
	}
	return false
}

func csvRecord(row []string, col map[string]int) (Record, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	rec := Record{MTI: get("mti"), RRN: get("rrn"), STAN: get("stan"), Transmitted: get("transmitted"),
		Terminal: get("terminal"), AcquirerID: get("acquirer"), ProcessingCode: get("processing_code"),
		Currency: get("currency"), ResponseCode: get("response_code"), ApprovalCode: get("approval_code"),
		OriginalData: get("original_data"), PAN: get("pan")}
	var err error
	if rec.Amount, err = strconv.ParseInt(get("amount"), 10, 64); err != nil {
		return rec, fmt.Errorf("amount %q is not a whole number of minor units", get("amount"))
	}
	if s := get("replacement_amount"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return rec, fmt.Errorf("replacement_amount %q is not a whole number of minor units", s)
		}
		rec.Replacement = &v
	}
	if s := get("time"); s != "" {
		if rec.Time, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return rec, fmt.Errorf("time %q is not RFC 3339", s)
		}
	}
	return rec, nil
}

// validate checks what the reconciliation relies on.
func (r *Record) validate() error {
	switch {
	case len(r.MTI) != 4:
		return fmt.Errorf("mti %q must be 4 digits", r.MTI)
	case r.Amount < 0:
		return fmt.Errorf("amount %d must not be negative", r.Amount)
	case r.Replacement != nil && *r.Replacement < 0:
		return fmt.Errorf("replacement_amount %d must not be negative", *r.Replacement)
	case r.OriginalData != "" && len(r.OriginalData) != 42:
		return fmt.Errorf("original_data must be 42 digits (field 90)")
	case strings.ContainsFunc(r.PAN, func(c rune) bool { return c >= '0' && c <= '9' }) && !masked(r.PAN):
		return fmt.Errorf("pan must be masked to its first 6 and last 4 digits")
	}
	return nil
}

// masked reports whether pan shows at most its first 6 and last 4 digits.
func masked(pan string) bool {
	return len(pan) >= 12 && strings.Trim(pan[6:len(pan)-4], "*") == ""
}

// NewRecord builds the record of a request and its answer (nil when none was given), as the
// issuer received it: the PAN masked, field 95's actual amount parsed, the time in UTC.
func NewRecord(req, resp *iso8583.Message, at time.Time) Record {
	rec := Record{
		Time: at.UTC(), MTI: req.MTI, RRN: req.RRN, STAN: req.STAN, Transmitted: req.TransmissionDateTime,
		Terminal: req.TerminalID, AcquirerID: req.AcquirerID, ProcessingCode: req.ProcessingCode,
		Currency: req.Currency, OriginalData: req.OriginalData, PAN: iso8583.MaskPAN(req.PAN),
	}
	if v, err := iso8583.ParseAmount(req.Amount); err == nil {
		rec.Amount = v
	}
	if len(req.ReplacementAmounts) >= 12 {
		if v, err := strconv.ParseInt(req.ReplacementAmounts[:12], 10, 64); err == nil {
			rec.Replacement = &v
		}
	}
	if resp != nil {
		rec.ResponseCode, rec.ApprovalCode = resp.ResponseCode, resp.ApprovalCode
	}
	return rec
}
