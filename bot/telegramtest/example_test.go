package telegramtest_test

import (
	"context"
	"fmt"
	"log"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

// A user writes to the bot, the bot answers in HTML, and the test reads the
// answer from the emulator.
func Example() {
	s, err := telegramtest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	lan := s.AddUser(telegramtest.User{FirstName: "Lan"})
	if _, err := s.SendText(lan.ID, lan.ID, "/start"); err != nil {
		log.Fatal(err)
	}

	b, err := tgbot.New(s.Token(), tgbot.WithServerURL(s.URL()))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{
		ChatID: lan.ID, Text: "<b>Chào</b> chị Lan", ParseMode: models.ParseModeHTML,
	})
	if err != nil {
		log.Fatal(err)
	}
	out, err := s.Next(ctx, lan.ID)
	if err != nil {
		log.Fatal(err)
	}
	e := out.Message.Entities[0]
	fmt.Printf("%s %q %s@%d+%d\n", out.Method, out.Message.Text, e.Type, e.Offset, e.Length)
	// Output: sendMessage "Chào chị Lan" bold@0+4
}
