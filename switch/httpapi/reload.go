package httpapi

import (
	"errors"
	"net/http"
)

// reloadRoute serves POST /v1/reload: the switch re-reads its configuration file (what SIGHUP
// does, with the outcome in the answer). 200 with what changed; 422 with the reason when the file
// is refused (the running configuration stays).
func reloadRoute(d Deps, mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		if d.Reload == nil {
			http.NotFound(w, r)
			return
		}
		res, err := d.Reload(r.Context(), d.Actor(r))
		switch {
		case errors.Is(err, ErrNotFound):
			http.NotFound(w, r)
		case err != nil:
			writeError(w, http.StatusUnprocessableEntity, err.Error())
		default:
			writeJSON(w, http.StatusOK, res)
		}
	})
}
