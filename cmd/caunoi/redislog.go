package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// redisLogger sends go-redis's own messages (dial failures while Redis is
// down, and the like) to slog at debug level instead of raw stderr lines.
// Errors that matter reach the log through the store's returned errors.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "msg", fmt.Sprintf(format, v...))
}

// quietRedis routes go-redis's logging to log.
func quietRedis(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }
