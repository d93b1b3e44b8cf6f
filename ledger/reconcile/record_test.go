package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

func TestReadJournalToleratesATornLastLine(t *testing.T) {
	in := `{"time":"2026-12-06T10:00:01Z","mti":"0200","rrn":"R1","stan":"000001","transmitted":"1206100000","processing_code":"000000","amount":1000,"currency":"840","response_code":"00","approval_code":"ABC123","pan":"411111******1111"}

{"time":"2026-12-06T10:00:02Z","mti":"0400","rrn":"R1","stan":"000002","transmitted":"1206100001","processing_code":"000000","amount":1000,"currency":"840","response_code":"00","original_data":"020000000112061000000000000000000000000000","replacement_amount":250,"pan":"411111******1111"}
{"time":"2026-12-06T10:00:03Z","mti":"0200","rrn":"R2","st`
	recs, stats, err := ReadRecords(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !stats.Torn || stats.Records != 2 {
		t.Fatalf("%d records, stats %+v; want 2 and a torn last line", len(recs), stats)
	}
	if recs[1].Replacement == nil || *recs[1].Replacement != 250 || recs[0].Amount != 1000 ||
		!recs[0].Time.Equal(time.Date(2026, 12, 6, 10, 0, 1, 0, time.UTC)) {
		t.Errorf("records: %+v", recs)
	}
}

func TestReadRecordsRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"a bad line before the last":  "{\"mti\":\"0200\"\n{\"mti\":\"0200\",\"rrn\":\"R\",\"amount\":1}\n",
		"a clear PAN":                 `{"mti":"0200","rrn":"R","amount":1,"pan":"4111111111111111"}` + "\n",
		"a short MTI":                 `{"mti":"200","rrn":"R","amount":1}` + "\n",
		"a short field 90":            `{"mti":"0400","rrn":"R","amount":1,"original_data":"0200"}` + "\n",
		"an unknown CSV column":       "mti,rrn,amount,response_code,colour\n0200,R,1,00,red\n",
		"a CSV without amount":        "mti,rrn,response_code\n0200,R,00\n",
		"a CSV amount in major units": "mti,rrn,amount,response_code\n0200,R,10.00,00\n",
	} {
		if _, _, err := ReadRecords(strings.NewReader(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

func TestReadCSV(t *testing.T) {
	in := "time,mti,rrn,stan,transmitted,processing_code,amount,currency,response_code,approval_code,original_data,replacement_amount,pan\n" +
		"2026-12-06T10:00:01Z,0200,R1,000001,1206100000,000000,1000,840,00,ABC123,,,411111******1111\n" +
		"2026-12-06T10:00:02Z,0400,R1,000002,1206100001,000000,1000,840,00,,020000000112061000000000000000000000000000,250,411111******1111\n"
	recs, stats, err := ReadRecords(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Records != 2 || recs[0].ApprovalCode != "ABC123" || recs[1].Replacement == nil || *recs[1].Replacement != 250 {
		t.Fatalf("%+v", recs)
	}
	if h := NewIssuerBook(recs).Positions["R1"].Holds; h != 250 {
		t.Errorf("R1 holds %d, want 250 (partly reversed)", h)
	}
	// Only the required columns, in another order.
	recs, _, err = ReadRecords(strings.NewReader("RRN,Amount,MTI,Response_Code\nR9,500,0200,00\n"))
	if err != nil || len(recs) != 1 || recs[0].Amount != 500 || recs[0].RRN != "R9" {
		t.Errorf("%+v, %v", recs, err)
	}
}

func TestReadEmpty(t *testing.T) {
	recs, _, err := ReadRecords(strings.NewReader("\n"))
	if err != nil || len(recs) != 0 {
		t.Errorf("%v, %v", recs, err)
	}
}

func TestNewRecordMasksAndParses(t *testing.T) {
	req := &iso8583.Message{MTI: "0400", PAN: "4111111111111111", ProcessingCode: "000000", Amount: "000000001000",
		STAN: "000002", TransmissionDateTime: "1206100001", RRN: "R1", TerminalID: "LOAD0001", Currency: "840",
		OriginalData:       "020000000112061000000000000000000000000000",
		ReplacementAmounts: "000000000250000000000250000000000000000000", Track2: "4111111111111111=2812"}
	r := NewRecord(req, &iso8583.Message{ResponseCode: "00"}, time.Date(2026, 12, 6, 11, 0, 0, 0, time.FixedZone("X", 3600)))
	if r.PAN != "411111******1111" || r.Amount != 1000 || r.Replacement == nil || *r.Replacement != 250 ||
		r.ResponseCode != "00" || r.Time.Location() != time.UTC {
		t.Errorf("%+v", r)
	}
	if err := r.validate(); err != nil {
		t.Error(err)
	}
	if none := NewRecord(&iso8583.Message{MTI: "0200", Amount: "x"}, nil, time.Now()); none.ResponseCode != "" || none.Amount != 0 {
		t.Errorf("%+v", none)
	}
}

func TestReadClientLog(t *testing.T) {
	in := `{"rrn":"63300Q72M801","mti":"0200","kind":"purchase","terminal":"LOAD0001","stan":"000001","transmitted":"1126173603","merchant":"MERCHANT0000001","amount":17775,"currency":"840","pan":"447521******6934","approval":"4X2MI9"}
{"rrn":"63300Q72M802","mti":"0400","kind":"reversal","terminal":"LOAD0003","stan":"000006","transmitted":"1126173603","merchant":"MERCHANT0000001","amount":9503,"currency":"840","pan":"587402******9150","approval":"","original":{"mti":"0200","stan":"000001","transmitted":"1126173603","rrn":"63300Q72M802","amount":9503}}
{"rrn":"6330`
	got, stats, err := ReadClientLog(strings.NewReader(in))
	if err != nil || len(got) != 2 || !stats.Torn || got[1].Original == nil || got[1].Original.Amount != 9503 {
		t.Fatalf("%+v %+v %v", got, stats, err)
	}
	if _, _, err := ReadClientLog(strings.NewReader("{}\n{}\n")); !errors.Is(err, ErrFormat) {
		t.Errorf("lines without a terminal: %v", err)
	}
}
