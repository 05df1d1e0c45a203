// Package telegramtest is an emulator of the Telegram Bot API on a local HTTP
// server, for tests and for the offline demo.
//
// A Server speaks the Bot API over real HTTP the way api.telegram.org does:
// the same URLs (/bot<token>/<method> and /file/bot<token>/<path>), the same
// request encodings (JSON, URL-encoded forms and multipart forms with file
// uploads) and the same response shape, including errors such as
// {"ok":false,"error_code":429,"description":"...","parameters":{"retry_after":5}}.
// Every parameter is checked against a table generated from the official Bot
// API specification (methods_gen.go), so a request that Telegram would refuse
// is refused here too.
//
// Beyond serving the bot, a Server lets a test act as Telegram's users
// (AddUser, AddGroup, Send, PressButton, Block), observe what the bot did
// (Outbox, Next, WaitFor, CallbackAnswers, ChatActions, Requests) and inject
// faults (Inject, EnforceLimits).
//
// Conventions that mirror Telegram: a private chat has the user's ID; groups
// are supergroups with IDs below -1000000000000 in which the bot is an
// administrator (so it receives every message); message IDs increase per
// chat; dates are Unix seconds taken from the injectable clock; text offsets
// are in UTF-16 code units. A user must have written to the bot before the bot
// can write to them.
//
// Text in the HTML, MarkdownV2 and Markdown parse modes is parsed into
// entities with Telegram's rules and error messages. setWebhook accepts
// http:// URLs on loopback hosts besides https:// ones, so that a test can
// point it at an httptest server; updates are posted one at a time, in order,
// and an update the webhook refuses is posted again until it is accepted.
//
// All methods of Server are safe for concurrent use.
package telegramtest

//go:generate go run ./internal/gen -spec ../../../shared/botapi/api.min.json -out methods_gen.go -methods getMe,getUpdates,setWebhook,deleteWebhook,getWebhookInfo,sendMessage,editMessageText,editMessageReplyMarkup,answerCallbackQuery,sendChatAction,setMyCommands,getMyCommands,deleteMyCommands,getFile,sendPhoto,sendDocument,copyMessage,createForumTopic,deleteMessage
