package tlsconf

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Endpoint label values: the acquirer listener, and issuer links by name.
const EndpointAcceptor = "acceptor"

// EndpointIssuer is the endpoint label value of an issuer's link.
func EndpointIssuer(name string) string { return "issuer/" + name }

// Metrics publishes cardswitch_tls_certificate_expiry_timestamp_seconds{endpoint, role}: when each
// certificate the switch uses expires (alerts CardswitchCertificateExpiringSoon and
// CardswitchCertificateExpiring). Labels are bounded by the configuration.
type Metrics struct {
	expiry *prometheus.GaugeVec
}

// NewMetrics creates the gauge and registers it with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cardswitch_tls_certificate_expiry_timestamp_seconds",
		Help: "When a TLS certificate the switch uses expires (Unix time; for a CA bundle its earliest), by endpoint (acceptor, issuer/<name>) and role (server, client, root_ca, client_ca).",
	}, []string{"endpoint", "role"})}
	if reg != nil {
		reg.MustRegister(m.expiry)
	}
	return m
}

// Set publishes the expiries of one endpoint, replacing what it had (a role it no longer has
// disappears).
func (m *Metrics) Set(endpoint string, exps []Expiry) {
	m.expiry.DeletePartialMatch(prometheus.Labels{"endpoint": endpoint})
	for _, e := range exps {
		m.expiry.WithLabelValues(endpoint, e.Role).Set(float64(e.NotAfter.Unix()))
	}
}
