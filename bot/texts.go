package bot

// The catalogue of everything the bot says. Officials read it on a phone:
// short sentences, plain words, and every choice offered as a button. Texts
// that hold HTML are marked; all others are plain and escaped on use.

// Button labels.
const (
	btnHelpful    = "✅ Đã rõ"
	btnNotHelpful = "Chưa đúng ý"
	btnFull       = "📖 Xem đầy đủ"
	btnMore       = "🔎 Kết quả khác"
	btnAsk        = "🙋 Hỏi cán bộ Sở"
	btnSend       = "📨 Gửi câu hỏi"
	btnChangeDept = "🔁 Đổi Sở"
	btnCancel     = "✖️ Hủy"
	btnClaim      = "🙋 Nhận xử lý"
	btnNeedInfo   = "❓ Cần thêm thông tin"
	btnTransfer   = "🔀 Chuyển Sở"
	btnResolve    = "✅ Đã giải quyết"
	btnSolved     = "✅ Đã giải quyết"
	btnReopen     = "↩️ Chưa, hỏi thêm"
	btnDraft      = "📝 Thêm vào sổ tay"
)

// Messages to officials.
const (
	txtWelcome = "Chào anh/chị, đây là Cầu Nối: sổ tay nghiệp vụ và bàn hỗ trợ của các sở cho cán bộ xã, phường.\n\n" +
		"Cứ gõ câu hỏi như khi hỏi đồng nghiệp, có dấu hay không dấu đều được. " +
		"Nếu sổ tay chưa trả lời được, bấm «Hỏi cán bộ Sở» để chuyển câu hỏi tới sở phụ trách."
	txtHelp = "• Gõ câu hỏi: bot trả lời ngay từ sổ tay nghiệp vụ, kèm căn cứ pháp lý.\n" +
		"• Chưa rõ: bấm «Hỏi cán bộ Sở», câu hỏi thành phiếu gửi sở phụ trách.\n" +
		"• Muốn bổ sung cho một phiếu: trả lời (reply) tin nhắn của phiếu đó.\n" +
		"• /phieu: xem các phiếu đang mở của anh/chị.\n" +
		"• /huy: hủy thao tác đang làm dở."
	txtNotRegistered = "Anh/chị chưa đăng ký nên chỉ tra cứu được sổ tay. " +
		"Để gửi câu hỏi tới các sở, đề nghị xin mã mời từ Văn phòng UBND xã hoặc quản trị viên của tỉnh, rồi mở đường dẫn mời."
	txtRegistered      = "Đăng ký thành công. Từ nay anh/chị có thể gửi câu hỏi tới các sở ngay trong cuộc trò chuyện này."
	txtBadInvite       = "Mã mời không đúng. Đề nghị kiểm tra lại đường dẫn hoặc xin mã mới."
	txtExpiredInvite   = "Mã mời đã hết hạn hoặc đã được dùng. Đề nghị xin mã mới."
	txtTooManyInvites  = "Anh/chị đã thử mã mời quá nhiều lần. Đề nghị đợi một lúc rồi thử lại."
	txtEmptyQuestion   = "Anh/chị gõ câu hỏi bằng chữ giúp nhé, ví dụ: «thủ tục đăng ký khai sinh quá hạn»."
	txtLowConfidence   = "Sổ tay chưa có câu trả lời chắc chắn cho câu hỏi này."
	txtNoAnswer        = "Sổ tay chưa có nội dung về câu hỏi này."
	txtCandidates      = "Có thể anh/chị cần một trong các mục sau:"
	txtAskOffer        = "Anh/chị có thể gửi câu hỏi cho cán bộ Sở."
	txtThanks          = "Cảm ơn anh/chị đã phản hồi."
	txtSorryNotHelp    = "Cảm ơn anh/chị. Nếu cần, bấm «Hỏi cán bộ Sở» để được cán bộ trả lời."
	txtDraftAttach     = "Anh/chị có thể gửi thêm ảnh hoặc tệp (giấy tờ, ảnh chụp màn hình) trước khi bấm «Gửi câu hỏi»."
	txtAttachAdded     = "Đã đính kèm %d tệp. Bấm «Gửi câu hỏi» khi xong."
	txtDraftCancelled  = "Đã hủy. Anh/chị cứ hỏi tiếp khi cần."
	txtNothingToCancel = "Không có thao tác nào đang làm dở."
	txtChooseDept      = "Chọn sở sẽ nhận câu hỏi:"
	txtNoTickets       = "Anh/chị không có phiếu nào đang mở."
	txtMyTickets       = "Các phiếu đang mở của anh/chị:"
	txtReopenAsk       = "Anh/chị cần hỏi thêm gì? Trả lời (reply) tin nhắn này để gửi cho cán bộ Sở."
	txtRateAsk         = "Anh/chị chấm điểm câu trả lời giúp (1 là kém, 5 là rất tốt):"
	txtRated           = "Cảm ơn anh/chị đã chấm điểm."
	txtFollowUpSent    = "Đã gửi bổ sung cho phiếu %s."
	txtAttachRefused   = "Tệp này không nhận được: %s. Chỉ nhận ảnh và tài liệu (PDF, Word, Excel, ảnh) dưới 20 MB."
	txtNoQuestionYet   = "Anh/chị gõ câu hỏi trước, rồi mới gửi ảnh hoặc tệp kèm theo nhé."
	txtSlowDown        = "Anh/chị gửi nhanh quá, bot đang xử lý các tin trước. Xin đợi một chút."
	txtStaleWarning    = "⚠️ Mục này đã quá hạn rà soát (%s), nội dung có thể chưa cập nhật. Đề nghị đối chiếu văn bản mới nhất hoặc hỏi cán bộ Sở."
	txtPassageGone     = "Mục này không còn trong sổ tay (sổ tay vừa được cập nhật). Anh/chị hỏi lại giúp nhé."
)

// Messages to department staff.
const (
	txtNeedInfoPrompt = "Phiếu %s: trả lời (reply) tin nhắn này với nội dung cần cán bộ xã bổ sung."
	txtTransferPick   = "Phiếu %s: chọn sở nhận chuyển:"
	txtNotStaff       = "Anh/chị không phải cán bộ của sở phụ trách phiếu này, nên không thao tác được."
	txtUnknownGroup   = "Nhóm này chưa được gắn với sở nào trong cấu hình của Cầu Nối."
	txtStaffReplyHint = "Để trả lời cán bộ xã, hãy trả lời (reply) vào thẻ phiếu hoặc viết trong chủ đề của phiếu."
	txtNoOpenTickets  = "Sở không có phiếu nào đang mở."
	txtAlreadyClaimed = "Phiếu này đã có cán bộ nhận xử lý."
	txtResolveFirst   = "Cần nhận xử lý và trả lời cán bộ xã trước khi báo đã giải quyết."
	txtTicketClosed   = "Phiếu này đã kết thúc."
	txtOpenTickets    = "Các phiếu đang mở của sở:"
)

// Errors shown to people.
const (
	errTxtForbidden = "Anh/chị không có quyền thực hiện thao tác này."
	errTxtConflict  = "Phiếu đã thay đổi trạng thái (có thể người khác vừa thao tác). Xem lại thẻ phiếu mới nhất."
	errTxtNotFound  = "Không tìm thấy phiếu hoặc câu hỏi này."
	errTxtInvalid   = "Nội dung chưa hợp lệ. Đề nghị kiểm tra lại."
	errTxtInternal  = "Hệ thống đang gặp sự cố, câu hỏi của anh/chị đã được ghi lại. Xin thử lại sau ít phút."
	errTxtButton    = "Nút này không còn hiệu lực."
)

// statusNames are the Vietnamese names of ticket statuses.
var statusNames = map[string]string{
	"new":              "Mới",
	"claimed":          "Đang xử lý",
	"waiting_official": "Chờ xã bổ sung",
	"answered":         "Đã trả lời",
	"resolved":         "Đã giải quyết",
	"reopened":         "Mở lại",
	"transferred":      "Đã chuyển sở",
	"closed":           "Đã đóng",
}

// Commands shown in Telegram's menu.
var menuCommands = []struct{ Name, Description string }{
	{"help", "Hướng dẫn sử dụng"},
	{"phieu", "Các phiếu hỏi đang mở"},
	{"huy", "Hủy thao tác đang làm"},
}
