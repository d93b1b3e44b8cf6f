package ledger

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestReadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql":  {Data: []byte("CREATE TABLE b (x int);")},
		"m/0002_second.sql": {Data: []byte("CREATE TABLE a (x int);")},
		"m/0001_first.sql":  {Data: []byte("SELECT 1;")},
	}
	ms, err := ReadMigrations(fsys, "m")
	require.NoError(t, err)
	require.Equal(t, []Migration{
		{Version: 1, Name: "0001_first.sql", SQL: "SELECT 1;"},
		{Version: 2, Name: "0002_second.sql", SQL: "CREATE TABLE a (x int);"},
		{Version: 10, Name: "0010_later.sql", SQL: "CREATE TABLE b (x int);"},
	}, ms, "sorted by version number, not by name")

	_, err = ReadMigrations(fstest.MapFS{"m/first.sql": {}}, "m")
	require.ErrorContains(t, err, "migration first.sql: name must start with a version number")

	_, err = ReadMigrations(fstest.MapFS{"m/0001_a.sql": {}, "m/1_b.sql": {}}, "m")
	require.ErrorContains(t, err, "same version")
}
