package iso8583

// MTIs the switch handles on the acquirer interface (CONTRACT §2). A repeat (retransmission) has
// the last digit 1 and is treated as its original MTI.
const (
	MTIAuthorization         = "0100"
	MTIAuthorizationResponse = "0110"
	MTIFinancial             = "0200"
	MTIFinancialResponse     = "0210"
	MTICompletion            = "0220"
	MTICompletionResponse    = "0230"
	MTIReversal              = "0400"
	MTIReversalResponse      = "0410"
	MTIReversalAdvice        = "0420"
	MTIReversalAdviceResp    = "0430"
	MTINetwork               = "0800"
	MTINetworkResponse       = "0810"
)

// Network management information codes (field 70).
const (
	NetworkSignOn  = "001"
	NetworkSignOff = "002"
	NetworkEcho    = "301"
)

// MTIClass returns the MTI with a repeat folded into its original: 0101 → 0100, 0421 → 0420.
// Anything that is not 4 digits is returned unchanged.
func MTIClass(mti string) string {
	if len(mti) != 4 || mti[3] != '1' {
		return mti
	}
	return mti[:3] + "0"
}

// IsRepeat reports whether mti is a retransmission (0101, 0201, 0221, 0401, 0421 …).
func IsRepeat(mti string) bool { return len(mti) == 4 && mti[3] == '1' }

// IsRequest reports whether mti is a request or advice (function digit even: 0, 2, 4 …), as
// opposed to a response.
func IsRequest(mti string) bool {
	return len(mti) == 4 && (mti[2]-'0')%2 == 0
}

// ResponseMTI returns the response MTI for a request or advice: 0100 → 0110, 0101 → 0110,
// 0420 → 0430, 0800 → 0810. It returns "" when mti is not 4 digits or is already a response.
func ResponseMTI(mti string) string {
	switch mti { // the common ones without an allocation
	case MTIAuthorization, "0101":
		return MTIAuthorizationResponse
	case MTIFinancial, "0201":
		return MTIFinancialResponse
	case MTICompletion, "0221":
		return MTICompletionResponse
	case MTIReversal, "0401":
		return MTIReversalResponse
	case MTIReversalAdvice, "0421":
		return MTIReversalAdviceResp
	case MTINetwork, "0801":
		return MTINetworkResponse
	}
	if len(mti) != 4 || !IsDigits(mti) || !IsRequest(mti) || mti[2] == '8' {
		return ""
	}
	b := []byte(mti)
	b[2]++
	b[3] = '0'
	return string(b)
}

// Transaction types: the first two digits of the processing code (field 3).
const (
	ProcessingPurchase = "00"
	ProcessingRefund   = "20"
)

// Echo starts the response to m: the response MTI and the fields a response echoes (CONTRACT §2:
// 2, 3, 4, 7, 11, 12, 13, 37, 41, 42 and 49; and 32 and 70 when the request has them). It never
// copies 14, 35, 45, 52 or 55.
func (m *Message) Echo() *Message {
	return &Message{
		MTI:                  ResponseMTI(m.MTI),
		PAN:                  m.PAN,
		ProcessingCode:       m.ProcessingCode,
		Amount:               m.Amount,
		TransmissionDateTime: m.TransmissionDateTime,
		STAN:                 m.STAN,
		LocalTime:            m.LocalTime,
		LocalDate:            m.LocalDate,
		AcquirerID:           m.AcquirerID,
		RRN:                  m.RRN,
		TerminalID:           m.TerminalID,
		MerchantID:           m.MerchantID,
		Currency:             m.Currency,
		NetworkCode:          m.NetworkCode,
	}
}
