//! Every word the privacy centre shows, in Vietnamese and English, kept together so that a
//! text cannot exist in one language only (the macro takes both or does not compile).

use custodian_policy::Lang;

macro_rules! texts {
    ($($key:ident => ($vi:expr, $en:expr),)*) => {
        /// A text of the privacy centre.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $($key,)* }

        impl T {
            pub fn get(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((T::$key, Lang::Vi) => $vi, (T::$key, Lang::En) => $en,)*
                }
            }
        }

        #[cfg(test)]
        pub const ALL: &[T] = &[$(T::$key,)*];
    };
}

texts! {
    CentreName => ("Trung tâm quyền riêng tư", "Privacy centre"),
    SkipToContent => ("Chuyển đến nội dung chính", "Skip to main content"),
    MainNav => ("Điều hướng chính", "Main navigation"),
    Language => ("Ngôn ngữ", "Language"),
    OtherLanguage => ("English", "Tiếng Việt"),
    NavData => ("Dữ liệu của tôi", "My data"),
    NavChoices => ("Lựa chọn của tôi", "My choices"),
    NavRecipients => ("Ai đã nhận dữ liệu của tôi", "Who received my data"),
    NavRequests => ("Yêu cầu của tôi", "My requests"),
    NavOrders => ("Đơn hàng", "Orders"),
    SignOut => ("Đăng xuất", "Sign out"),
    SignInTitle => ("Đăng nhập", "Sign in"),
    SignInIntro => (
        "Đăng nhập để xem và quản lý dữ liệu cá nhân của bạn.",
        "Sign in to see and manage your personal data."
    ),
    ByCode => ("Đăng nhập bằng mã một lần", "Sign in with a one-time code"),
    ByCodeHelp => (
        "Chúng tôi gửi một mã gồm 6 chữ số đến email bạn đã đăng ký, nếu email đó có tài khoản.",
        "We send a 6-digit code to the email you registered, if it has an account."
    ),
    Email => ("Email", "Email"),
    SendCode => ("Gửi mã cho tôi", "Send me a code"),
    CodeSent => (
        "Nếu email này có tài khoản, một mã đã được gửi đến. Mã có hiệu lực trong 10 phút.",
        "If this email has an account, a code is on its way. It is valid for 10 minutes."
    ),
    Code => ("Mã một lần", "One-time code"),
    ByPassword => ("Đăng nhập bằng mật khẩu", "Sign in with a password"),
    Password => ("Mật khẩu", "Password"),
    SignInButton => ("Đăng nhập", "Sign in"),
    SignedOut => ("Bạn đã đăng xuất.", "You are signed out."),
    DataTitle => ("Dữ liệu của tôi", "My data"),
    DataIntro => (
        "Mọi dữ liệu chúng tôi giữ về bạn, theo từng loại, và lý do chúng tôi giữ.",
        "Everything we hold about you, by category, and why we hold it."
    ),
    NoData => ("Chúng tôi không giữ dữ liệu hồ sơ nào của bạn.", "We hold no profile data about you."),
    WhyHeld => ("Vì sao chúng tôi giữ", "Why we hold it"),
    Purpose => ("Mục đích", "Purpose"),
    LegalBasisLabel => ("Cơ sở pháp lý", "Legal basis"),
    Retention => ("Thời hạn lưu trữ", "Retention"),
    Recipients => ("Bên nhận", "Recipients"),
    NoRecipients => ("Không chia sẻ ra ngoài", "Not shared outside the company"),
    Withheld => ("(không hiển thị)", "(not shown)"),
    ChoicesTitle => ("Lựa chọn của tôi", "My choices"),
    ChoicesIntro => (
        "Mỗi mục đích dựa trên sự đồng ý của bạn được hỏi riêng. Bạn có thể rút lại bất cứ lúc nào, dễ như khi đồng ý.",
        "Each purpose that rests on your consent is asked separately. You can withdraw at any time, as easily as you agreed."
    ),
    StateGranted => ("Đã đồng ý", "Granted"),
    StateDenied => ("Đã từ chối", "Declined"),
    StateNotAsked => ("Chưa hỏi (coi như không đồng ý)", "Not asked (counts as no)"),
    StateNeedsRenewal => (
        "Cần xác nhận lại: điều khoản đã thay đổi",
        "To confirm again: the terms have changed"
    ),
    CurrentState => ("Hiện tại", "Now"),
    DeclineCost => ("Nếu bạn từ chối", "If you decline"),
    Grant => ("Đồng ý", "Grant"),
    Withdraw => ("Rút lại sự đồng ý", "Withdraw consent"),
    ChoiceSaved => ("Lựa chọn của bạn đã được ghi nhận.", "Your choice has been recorded."),
    HistoryTitle => ("Lịch sử đồng ý", "Consent history"),
    NoHistory => ("Chưa có thay đổi nào.", "No change yet."),
    When => ("Thời điểm", "When"),
    Choice => ("Lựa chọn", "Choice"),
    Channel => ("Kênh", "Channel"),
    NoticeVersionLabel => ("Phiên bản thông báo", "Notice version"),
    LedgerTitle => ("Ai đã nhận dữ liệu của tôi", "Who received my data"),
    LedgerIntro => (
        "Mỗi lần dữ liệu của bạn được gửi ra ngoài công ty: đối tác, và cơ quan nhà nước khi pháp luật yêu cầu.",
        "Each time your data left the company: partners, and authorities when the law requires."
    ),
    PartnersHeading => ("Đối tác", "Partners"),
    AuthoritiesHeading => ("Cơ quan nhà nước", "Authorities"),
    Recipient => ("Bên nhận", "Recipient"),
    DataSent => ("Dữ liệu", "Data"),
    NoDisclosures => ("Chưa có lần gửi nào.", "Nothing sent yet."),
    NoLegal => ("Không có lần cung cấp nào.", "No disclosure."),
    RequestsTitle => ("Yêu cầu của tôi", "My requests"),
    RequestsIntro => (
        "Các yêu cầu bạn đã gửi, tình trạng và hạn xử lý; bên dưới, gửi yêu cầu mới.",
        "The requests you made, their status and due dates; below, make a new one."
    ),
    NoRequests => ("Bạn chưa gửi yêu cầu nào.", "You have made no request."),
    Kind => ("Loại", "Kind"),
    Status => ("Tình trạng", "Status"),
    Received => ("Ngày nhận", "Received"),
    DueDate => ("Hạn hoàn thành", "Due"),
    DaysLeft => ("Số ngày còn lại", "Days left"),
    Overdue => ("quá hạn", "overdue"),
    Reason => ("Lý do", "Reason"),
    NewRequest => ("Gửi yêu cầu mới", "Make a request"),
    RequestSent => ("Yêu cầu của bạn đã được tiếp nhận.", "Your request has been received."),
    RequestMerged => (
        "Bạn đã có một yêu cầu cùng loại đang được xử lý; yêu cầu đó vẫn giữ nguyên.",
        "You already have an open request of this kind; that one stands."
    ),
    VerifyTitle => ("Xác nhận yêu cầu", "Confirm your request"),
    VerifyIntro => (
        "Chúng tôi đã gửi một mã gồm 6 chữ số đến email bạn đã đăng ký. Nhập mã để xác nhận chính bạn đã gửi yêu cầu: chúng tôi chỉ thực hiện yêu cầu sau khi được xác nhận. Mã có hiệu lực trong 10 phút.",
        "We sent a 6-digit code to the email on file. Enter it to confirm that you made this request: we act on it only once it is confirmed. The code is valid for 10 minutes."
    ),
    RequestCodeSent => ("Mã xác nhận đã được gửi.", "The code is on its way."),
    VerifyButton => ("Xác nhận", "Confirm"),
    ResendCode => ("Gửi mã mới", "Send a new code"),
    ConfirmAction => ("Nhập mã xác nhận", "Enter the code"),
    Action => ("Thao tác", "Action"),
    RequestDone => ("Yêu cầu của bạn đã được thực hiện.", "Your request has been carried out."),
    RequestVerified => (
        "Yêu cầu của bạn đã được xác nhận. Chúng tôi sẽ xử lý trước hạn và báo cho bạn.",
        "Your request is confirmed. We will handle it before its due date and let you know."
    ),
    ExportReadyTitle => ("Bản sao dữ liệu của bạn đã sẵn sàng", "Your copy is ready"),
    ExportReadyIntro => (
        "Tệp ZIP gồm dữ liệu của bạn ở dạng máy đọc được (JSON) và dạng dễ đọc (HTML). Liên kết chỉ dùng được một lần, khi bạn đã đăng nhập.",
        "A ZIP file with your data in machine-readable (JSON) and readable (HTML) form. The link works once, while you are signed in."
    ),
    Download => ("Tải bản sao dữ liệu", "Download my data"),
    LinkExpires => ("Liên kết hết hạn lúc", "The link expires at"),
    ErasedTitle => ("Dữ liệu của bạn đã được xóa", "Your data has been deleted"),
    ErasedIntro => (
        "Khóa mã hóa dữ liệu của bạn đã bị hủy: không ai có thể đọc lại dữ liệu đó, kể cả từ bản sao lưu. Bạn đã được đăng xuất và không thể đăng nhập lại. Hãy lưu trang này nếu bạn muốn giữ báo cáo.",
        "The key that encrypted your data has been destroyed: nobody can read it again, backups included. You are signed out and cannot sign in again. Save this page if you want to keep the report."
    ),
    Removed => ("Đã xóa", "Removed"),
    Retained => ("Được giữ lại theo quy định của pháp luật", "Kept because the law requires it"),
    Why => ("Vì sao", "Why"),
    Until => ("Đến ngày", "Until"),
    PartnersTold => ("Các đối tác đã được yêu cầu xóa", "Partners asked to delete"),
    NoticeQueued => ("đang gửi yêu cầu xóa", "deletion request being sent"),
    NoticeDelivered => ("đã nhận yêu cầu xóa", "deletion request received"),
    NoticeConfirmed => ("đã xác nhận xóa", "deletion confirmed"),
    AskAccess => ("Xem dữ liệu của tôi", "See my data"),
    AskAccessHelp => (
        "Chúng tôi xác nhận mọi dữ liệu về bạn và cách chúng được xử lý.",
        "We confirm all the data about you and how it is processed."
    ),
    AskPortability => ("Nhận bản sao dữ liệu của tôi", "Get a copy of my data"),
    AskPortabilityHelp => (
        "Một bản sao đọc được bằng máy (JSON) và bằng mắt (HTML).",
        "A machine-readable (JSON) and human-readable (HTML) copy."
    ),
    AskCorrection => ("Sửa dữ liệu", "Correct my data"),
    CorrectionWhat => ("Điều cần sửa", "What to correct"),
    AskDeletion => ("Xóa dữ liệu của tôi", "Delete my data"),
    DeletionWarning => (
        "Cảnh báo: việc xóa không thể hoàn tác. Tài khoản của bạn bị đóng, bạn không thể đăng nhập lại, và dữ liệu của bạn trở nên không thể đọc được. Những gì pháp luật buộc phải giữ (như chứng từ kế toán của đơn hàng) được giữ riêng đến hết thời hạn, và chúng tôi sẽ cho bạn biết.",
        "Warning: deletion cannot be undone. Your account is closed, you can no longer sign in, and your data becomes unreadable. What the law requires us to keep (such as the accounting records of orders) is kept apart until its time ends, and we will tell you what."
    ),
    DeletionConfirm => ("Tôi hiểu và muốn xóa dữ liệu của tôi", "I understand and want my data deleted"),
    AskRestriction => ("Hạn chế xử lý", "Restrict processing"),
    AskRestrictionHelp => (
        "Chúng tôi chỉ lưu trữ dữ liệu của bạn và thực hiện nghĩa vụ pháp lý cho đến khi bạn bỏ hạn chế.",
        "We only store your data and meet legal obligations until you lift the restriction."
    ),
    AskObjection => ("Phản đối một mục đích", "Object to a purpose"),
    ObjectionPurpose => ("Mục đích bạn phản đối", "The purpose you object to"),
    Submit => ("Gửi yêu cầu", "Send the request"),
    ObjectionChoose => ("— Chọn một mục đích —", "— Choose a purpose —"),
    ObjectionPurposeMissing => (
        "Hãy chọn mục đích bạn phản đối. Yêu cầu chưa được gửi.",
        "Choose the purpose you object to. The request was not sent."
    ),
    CorrectionMissing => (
        "Hãy viết điều cần sửa. Yêu cầu chưa được gửi.",
        "Write what to correct. The request was not sent."
    ),
    DeletionNotConfirmed => (
        "Hãy đánh dấu ô xác nhận nếu bạn muốn xóa dữ liệu. Yêu cầu chưa được gửi.",
        "Tick the box to confirm that you want your data deleted. The request was not sent."
    ),
    NotApplicable => ("không áp dụng", "not applicable"),
    OrdersTitle => ("Đơn hàng của tôi", "My orders"),
    NoOrders => ("Bạn chưa có đơn hàng nào.", "You have no order."),
    Order => ("Đơn hàng", "Order"),
    Placed => ("Ngày đặt", "Placed"),
    ErrorTitle => ("Không thực hiện được", "This could not be done"),
    ErrorForbidden => (
        "Biểu mẫu đã hết hạn hoặc không đến từ trang này. Không có gì thay đổi. Hãy tải lại trang và thử lại.",
        "The form has expired or did not come from this site. Nothing was changed. Reload the page and try again."
    ),
    ErrorInvalid => (
        "Một số thông tin trong biểu mẫu không hợp lệ. Không có gì thay đổi.",
        "Some of what the form sent is not valid. Nothing was changed."
    ),
    ErrorSignIn => (
        "Email, mã hoặc mật khẩu không đúng, hoặc mã đã hết hạn.",
        "The email, code or password is not right, or the code has expired."
    ),
    ErrorRateLimited => (
        "Quá nhiều lần thử. Hãy đợi một lát rồi thử lại.",
        "Too many attempts. Wait a moment and try again."
    ),
    ErrorNotFound => ("Không tìm thấy trang này.", "This page was not found."),
    ErrorConflict => (
        "Điều này vừa thay đổi ở nơi khác. Hãy tải lại trang và thử lại.",
        "This just changed elsewhere. Reload the page and try again."
    ),
    ErrorUnavailable => (
        "Dịch vụ tạm thời không khả dụng. Không có gì thay đổi. Hãy thử lại sau.",
        "The service is unavailable for now. Nothing was changed. Try again later."
    ),
    ErrorCode => ("Mã lỗi", "Error code"),
    WrongSignInCode => (
        "Mã không đúng hoặc đã hết hạn. Hãy kiểm tra lại mã trong email, hoặc yêu cầu mã mới.",
        "The code is wrong or has expired. Check the code in the email, or ask for a new one."
    ),
    WrongPassword => (
        "Email hoặc mật khẩu không đúng.",
        "The email or password is wrong."
    ),
    WrongRequestCode => (
        "Mã không đúng. Hãy nhập mã gồm 6 chữ số trong email chúng tôi đã gửi.",
        "The code is wrong. Enter the 6-digit code from the email we sent."
    ),
    RequestCodeExpired => (
        "Mã đã hết hạn, đã được dùng hoặc đã hết số lần thử. Hãy gửi mã mới.",
        "The code has expired, was already used, or its attempts are spent. Send a new code."
    ),
    BackToCentre => ("Quay lại trung tâm quyền riêng tư", "Back to the privacy centre"),
}

/// A consent history entry's channel, in words.
pub fn channel(channel: &str, lang: Lang) -> &'static str {
    let (vi, en) = match channel {
        "web_form" => ("Biểu mẫu web", "Web form"),
        "app" => ("Ứng dụng", "App"),
        "recorded_call" => ("Cuộc gọi được ghi âm", "Recorded call"),
        "sms" => ("SMS", "SMS"),
        "email" => ("Email", "Email"),
        "letter" => ("Thư", "Letter"),
        "gpc_signal" => ("Tín hiệu GPC", "GPC signal"),
        _ => ("Khác", "Other"),
    };
    pick(lang, vi, en)
}

fn pick(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

#[cfg(test)]
mod tests {
    use super::{ALL, T};
    use custodian_policy::Lang;

    #[test]
    fn every_text_exists_in_both_languages() {
        for t in ALL {
            assert!(!t.get(Lang::Vi).is_empty(), "{t:?}");
            assert!(!t.get(Lang::En).is_empty(), "{t:?}");
        }
        assert_eq!(T::OtherLanguage.get(Lang::Vi), "English");
    }
}
