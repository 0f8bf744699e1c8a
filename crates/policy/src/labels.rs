//! How the policy's fixed vocabulary reads in each language. The policy file supplies every
//! text about the shop; these are the words for the format's own enumerations.

use crate::model::*;
use crate::text::Text;

pub fn legal_basis(basis: LegalBasis) -> Text {
    match basis {
        LegalBasis::Consent => Text::fixed("Sự đồng ý của bạn", "Your consent"),
        LegalBasis::Contract => Text::fixed(
            "Thực hiện hợp đồng với bạn",
            "Performing our contract with you",
        ),
        LegalBasis::LegalObligation => Text::fixed("Nghĩa vụ pháp lý", "Legal obligation"),
        LegalBasis::LegitimateInterest => Text::fixed("Lợi ích hợp pháp", "Legitimate interest"),
    }
}

pub fn subject(subject: Subject) -> Text {
    match subject {
        Subject::Customers => Text::fixed("khách hàng có tài khoản", "customers with an account"),
        Subject::Guests => Text::fixed(
            "khách đặt hàng không cần tài khoản",
            "guests who order without an account",
        ),
        Subject::Callers => Text::fixed("người gọi đến tổng đài", "callers to the call centre"),
        Subject::Visitors => Text::fixed("người truy cập website", "website visitors"),
    }
}

pub fn sensitive_kind(kind: SensitiveKind) -> Text {
    match kind {
        SensitiveKind::BankCard => Text::fixed("dữ liệu thẻ ngân hàng", "bank-card data"),
        SensitiveKind::OnlineBehaviour => Text::fixed(
            "dữ liệu theo dõi hành vi trên không gian mạng",
            "data tracking online behaviour",
        ),
        SensitiveKind::Biometric => Text::fixed(
            "dữ liệu sinh trắc học (giọng nói)",
            "biometric data (voice)",
        ),
        SensitiveKind::IdDocument => {
            Text::fixed("hình ảnh giấy tờ tùy thân", "images of identity documents")
        }
        SensitiveKind::Health => Text::fixed("dữ liệu sức khỏe", "health data"),
        SensitiveKind::PreciseLocation => Text::fixed("vị trí chính xác", "precise location"),
    }
}

pub fn data_form(form: DataForm) -> Text {
    match form {
        DataForm::Clear => Text::fixed("nguyên văn", "as is"),
        DataForm::Hashed => Text::fixed(
            "đã chuẩn hóa và băm SHA-256, không gửi giá trị gốc",
            "normalised and SHA-256 hashed, never the values themselves",
        ),
        DataForm::Pseudonymous => Text::fixed(
            "bí danh, không kèm tên hay thông tin liên lạc",
            "pseudonymous, with no name or contact details",
        ),
    }
}

pub fn anchor(anchor: Anchor) -> Text {
    match anchor {
        Anchor::Collected => Text::fixed("từ khi thu thập", "from collection"),
        Anchor::LastActivity => Text::fixed("từ lần hoạt động cuối", "from your last activity"),
        Anchor::AccountClosed => {
            Text::fixed("sau khi đóng tài khoản", "after the account is closed")
        }
        Anchor::OrderCompleted => {
            Text::fixed("sau khi đơn hàng hoàn tất", "after the order is completed")
        }
        Anchor::CaseClosed => Text::fixed(
            "sau khi yêu cầu hỗ trợ kết thúc",
            "after the care case is closed",
        ),
        Anchor::ConsentWithdrawn => Text::fixed(
            "sau khi bạn rút lại sự đồng ý",
            "after you withdraw consent",
        ),
    }
}

pub fn expiry(action: ExpiryAction) -> Text {
    match action {
        ExpiryAction::Delete => Text::fixed("xóa", "deleted"),
        ExpiryAction::Anonymise => Text::fixed("ẩn danh hóa", "anonymised"),
    }
}

pub fn section(section: Section) -> Text {
    match section {
        Section::Account => Text::fixed(
            "Khi bạn tạo tài khoản hoặc hồ sơ",
            "When you create an account or a profile",
        ),
        Section::Order => Text::fixed("Khi bạn đặt hàng", "When you place an order"),
        Section::Care => Text::fixed(
            "Khi bạn liên hệ bộ phận Chăm sóc Khách hàng",
            "When you contact Customer Care",
        ),
        Section::Voice => Text::fixed("Thông tin thoại", "Voice information"),
        Section::Viewing => Text::fixed("Thông tin bạn đã xem", "Information you have viewed"),
        Section::Other => Text::fixed(
            "Thông tin khác chúng tôi thu thập được",
            "Other information we collect",
        ),
    }
}

pub fn country(country: &Country) -> Text {
    match country.as_str() {
        "VN" => Text::fixed("Việt Nam", "Vietnam"),
        "US" => Text::fixed("Hoa Kỳ", "United States"),
        "SG" => Text::fixed("Singapore", "Singapore"),
        "IE" => Text::fixed("Ireland", "Ireland"),
        other => Text::fixed(other, other),
    }
}
