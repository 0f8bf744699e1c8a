//! One defect per policy: each broken copy of the default policy must be refused with the
//! right code, at the right line, naming the offending id.

use custodian_policy::{Code, DEFAULT_POLICY, parse};

/// Replaces exactly one occurrence of `from` in the default policy.
fn mutate(from: &str, to: &str) -> String {
    assert_eq!(
        DEFAULT_POLICY.matches(from).count(),
        1,
        "`{from}` must occur exactly once in the default policy"
    );
    DEFAULT_POLICY.replacen(from, to, 1)
}

/// Asserts the source has exactly one error, with this code, on the line where `at` first
/// occurs, and whose message mentions `names`.
#[track_caller]
fn assert_single(source: &str, code: Code, at: &str, names: &str) {
    let errors = match parse(source) {
        Ok(_) => panic!("the policy was accepted; expected `{code}`"),
        Err(e) => e,
    };
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors.0.len(),
        1,
        "expected one error, got:\n{}",
        listed.join("\n")
    );
    let d = &errors.0[0];
    assert_eq!(d.code, code, "{d}");
    assert!(
        d.message.contains(names),
        "message `{}` should name `{names}`",
        d.message
    );
    let offset = source
        .find(at)
        .unwrap_or_else(|| panic!("`{at}` not in source"));
    let expected_line = source[..offset].matches('\n').count() + 1;
    let location = d.location.expect("a location");
    assert_eq!(location.line, expected_line, "{d}");
}

#[test]
fn default_policy_is_valid() {
    let policy = parse(DEFAULT_POLICY).unwrap();
    assert_eq!(policy.controller.jurisdiction.as_str(), "VN");
    assert!(policy.categories.len() >= 16);
}

#[test]
fn syntax_error() {
    let src = mutate("schema = 1\n", "schema = \n");
    assert_single(&src, Code::Syntax, "schema =", "");
}

#[test]
fn unknown_top_level_key() {
    let src = mutate("schema = 1\n", "schema = 1\ncolour = \"red\"\n");
    assert_single(&src, Code::UnknownKey, "colour", "colour");
}

#[test]
fn unknown_key_in_a_category() {
    let src = mutate(
        "id = \"account_phone\"\n",
        "id = \"account_phone\"\nsensitivty = \"basic\"\n",
    );
    assert_single(&src, Code::UnknownKey, "sensitivty", "sensitivty");
}

#[test]
fn unknown_language_in_a_text() {
    let from = "title = { vi = \"Chính sách bảo mật thông tin\", en = \"Privacy policy\" }";
    let src = mutate(
        from,
        "title = { vi = \"Chính sách bảo mật thông tin\", en = \"Privacy policy\", fr = \"Confidentialité\" }",
    );
    assert_single(&src, Code::UnknownKey, "fr = ", "fr");
}

#[test]
fn missing_key() {
    let src = mutate("at_expiry = \"anonymise\"\n", "");
    assert_single(
        &src,
        Code::MissingKey,
        "[[retention]]\ncategory = \"viewing_history\"",
        "at_expiry",
    );
}

#[test]
fn invalid_enumeration_value() {
    let src = mutate(
        "legal_basis = \"legitimate_interest\"",
        "legal_basis = \"because_we_can\"",
    );
    assert_single(&src, Code::InvalidValue, "because_we_can", "because_we_can");
}

#[test]
fn unsupported_schema() {
    let src = mutate("schema = 1\n", "schema = 2\n");
    assert_single(&src, Code::UnsupportedSchema, "schema = 2", "2");
}

#[test]
fn invalid_id() {
    let src = mutate("id = \"tax_authority\"", "id = \"Tax-Authority\"");
    assert_single(&src, Code::InvalidId, "Tax-Authority", "Tax-Authority");
}

#[test]
fn duplicate_authority_id() {
    let src = mutate("id = \"tax_authority\"", "id = \"public_security\"");
    assert_single(
        &src,
        Code::DuplicateId,
        "id = \"public_security\"\nname = { vi = \"Cơ quan thuế\"",
        "public_security",
    );
}

#[test]
fn duplicate_recipient_across_roles_and_partners() {
    let src = mutate("id = \"tax_authority\"", "id = \"carrier\"");
    assert_single(
        &src,
        Code::DuplicateId,
        "id = \"carrier\"\nname = { vi = \"Cơ quan thuế\"",
        "carrier",
    );
}

#[test]
fn duplicate_field_in_a_category() {
    let src = mutate("name = \"subject\"", "name = \"product_id\"");
    assert_single(
        &src,
        Code::DuplicateId,
        "name = \"product_id\"\nlabel = { vi = \"Chủ đề\"",
        "product_id",
    );
}

#[test]
fn undeclared_category_in_a_purpose() {
    let src = mutate(
        "required = [\"care_enquiry\", \"account_name\"]",
        "required = [\"care_enquiry\", \"account_nam\"]",
    );
    assert_single(&src, Code::UnknownCategory, "account_nam\"", "account_nam");
}

#[test]
fn undeclared_purpose_in_a_role() {
    let src = mutate("purposes = [\"security\"]", "purposes = [\"securty\"]");
    assert_single(&src, Code::UnknownPurpose, "securty", "securty");
}

#[test]
fn undeclared_role_in_a_restriction() {
    let src = mutate(
        "restricted_to = [\"analyst\", \"marketing\"]",
        "restricted_to = [\"analyst\", \"marketer\"]",
    );
    assert_single(&src, Code::UnknownRole, "marketer", "marketer");
}

#[test]
fn undeclared_field_in_a_partner_set() {
    let src = mutate(
        "\"order_items.product_name\"",
        "\"order_items.product_title\"",
    );
    assert_single(&src, Code::UnknownField, "product_title", "product_title");
}

#[test]
fn undeclared_category_in_a_partner_set() {
    let src = mutate(
        "\"order_items.product_name\"",
        "\"order_lines.product_name\"",
    );
    assert_single(&src, Code::UnknownCategory, "order_lines", "order_lines");
}

#[test]
fn consent_purpose_without_decline_cost() {
    let line = "decline_cost = { vi = \"Cuộc gọi của bạn sẽ không được ghi âm; bạn vẫn được hỗ trợ như bình thường.\", en = \"Your call is not recorded; you are helped just the same.\" }\n";
    let src = mutate(line, "");
    assert_single(
        &src,
        Code::MissingDeclineCost,
        "id = \"care_quality\"",
        "care_quality",
    );
}

#[test]
fn optional_category_without_decline_cost() {
    let from = "{ category = \"order_contact_phone\", decline_cost = { vi = \"Nếu không có số điện thoại liên hệ, đơn vị vận chuyển không thể gọi cho bạn trước khi giao hàng.\", en = \"Without a contact phone number the carrier cannot call you before delivery.\" } }";
    let src = mutate(from, "{ category = \"order_contact_phone\" }");
    assert_single(
        &src,
        Code::MissingDeclineCost,
        "{ category = \"order_contact_phone\" }",
        "order_contact_phone",
    );
}

#[test]
fn partner_field_its_purpose_does_not_cover() {
    let src = mutate(
        "\"order_items.product_name\"",
        "\"order_items.product_name\", \"account_name.full_name\"",
    );
    assert_single(
        &src,
        Code::PartnerFieldOutsidePurpose,
        "account_name.full_name",
        "account_name",
    );
}

#[test]
fn sensitive_category_without_access_restriction() {
    let src = mutate("restricted_to = [\"qa_reviewer\"]\n", "");
    assert_single(
        &src,
        Code::SensitiveWithoutRestriction,
        "id = \"voice_recording\"",
        "voice_recording",
    );
}

#[test]
fn restricted_role_that_serves_no_purpose_using_the_category() {
    let src = mutate(
        "restricted_to = [\"qa_reviewer\"]",
        "restricted_to = [\"qa_reviewer\", \"fulfilment\"]",
    );
    assert_single(
        &src,
        Code::RestrictedRoleWithoutPurpose,
        "\"fulfilment\"]",
        "fulfilment",
    );
}

#[test]
fn sensitive_category_without_its_kind() {
    let src = mutate("sensitive_kind = \"biometric\"\n", "");
    assert_single(
        &src,
        Code::SensitiveKind,
        "sensitivity = \"sensitive\"\nrestricted_to = [\"qa_reviewer\"]",
        "voice_recording",
    );
}

#[test]
fn missing_translation() {
    let from = "title = { vi = \"Chính sách bảo mật thông tin\", en = \"Privacy policy\" }";
    let src = mutate(from, "title = { vi = \"Chính sách bảo mật thông tin\" }");
    assert_single(&src, Code::MissingTranslation, "title = { vi", "`en`");
}

#[test]
fn missing_vietnamese_translation_of_a_field_label() {
    let src = mutate(
        "label = { vi = \"Mã phiên\", en = \"Session id\" }",
        "label = { en = \"Session id\" }",
    );
    assert_single(
        &src,
        Code::MissingTranslation,
        "label = { en = \"Session id\" }",
        "analytics_identifiers.session_id",
    );
}

#[test]
fn empty_text() {
    let src = mutate("en = \"Privacy policy\"", "en = \"  \"");
    assert_single(&src, Code::EmptyText, "title = {", "title");
}

#[test]
fn unused_category() {
    let extra = "\n[[category]]\nid = \"loyalty_points\"\nlabel = { vi = \"Điểm thưởng\", en = \"Loyalty points\" }\ndescription = { vi = \"Điểm\", en = \"Points\" }\nsection = \"account\"\nsensitivity = \"basic\"\n[[category.field]]\nname = \"points\"\nlabel = { vi = \"Điểm\", en = \"Points\" }\ntype = \"integer\"\n\n[[retention]]\ncategory = \"loyalty_points\"\nduration = \"1y\"\nfrom = \"collected\"\nat_expiry = \"delete\"\n";
    let src = format!("{DEFAULT_POLICY}{extra}");
    assert_single(
        &src,
        Code::UnusedCategory,
        "id = \"loyalty_points\"",
        "loyalty_points",
    );
}

#[test]
fn category_without_retention() {
    let src = mutate(
        "category = \"device_data\"\nduration = \"90d\"\nfrom = \"collected\"\nat_expiry = \"delete\"\n",
        "",
    );
    // The emptied `[[retention]]` table is itself a defect (missing keys); the parser stops there.
    let errors = parse(&src).unwrap_err();
    assert_eq!(errors.codes(), vec![Code::MissingKey]);
    let src = mutate(
        "[[retention]]\ncategory = \"device_data\"\nduration = \"90d\"\nfrom = \"collected\"\nat_expiry = \"delete\"\n",
        "",
    );
    assert_single(
        &src,
        Code::MissingRetention,
        "id = \"device_data\"",
        "device_data",
    );
}

#[test]
fn retention_for_a_purpose_that_does_not_use_the_category() {
    let src = mutate(
        "category = \"order_contact_phone\"\nduration",
        "category = \"order_contact_phone\"\npurpose = \"marketing\"\nduration",
    );
    assert_single(
        &src,
        Code::RetentionPurposeMismatch,
        "purpose = \"marketing\"\nduration",
        "marketing",
    );
}

#[test]
fn legal_hold_on_a_purpose_without_legal_obligation() {
    let src = mutate(
        "purpose = \"legal_obligation\"\nduration = \"10y\"",
        "purpose = \"order_fulfilment\"\nduration = \"10y\"",
    );
    assert_single(
        &src,
        Code::LegalHoldBasis,
        "purpose = \"order_fulfilment\"\nduration = \"10y\"",
        "accounting_records",
    );
}

#[test]
fn category_both_required_and_optional() {
    let src = mutate(
        "required = [\"care_enquiry\", \"account_name\"]",
        "required = [\"care_enquiry\", \"account_name\", \"account_email\"]",
    );
    assert_single(
        &src,
        Code::RequiredAndOptional,
        "{ category = \"account_email\", decline_cost = { vi = \"Không có email, chúng tôi chỉ",
        "account_email",
    );
}

#[test]
fn partner_with_no_fields() {
    let src = mutate(
        "fields = [\"order_payment.payment_token\", \"order_payment.amount\"]",
        "fields = []",
    );
    assert_single(
        &src,
        Code::EmptyFieldSet,
        "fields = []",
        "payment_processor",
    );
}

#[test]
fn string_field_without_max_length() {
    let src = mutate("max_length = 254\n", "");
    assert_single(
        &src,
        Code::MissingMaxLength,
        "type = \"email\"",
        "account_email.email",
    );
}

#[test]
fn enum_field_without_values() {
    let src = mutate("values = [\"weekly\", \"monthly\"]\n", "");
    assert_single(
        &src,
        Code::MissingEnumValues,
        "type = \"enum\"\n\n[[category]]",
        "marketing_preferences.frequency",
    );
}

#[test]
fn cross_border_flag_that_contradicts_the_country() {
    let src = mutate(
        "fields = [\"order_payment.payment_token\"",
        "fields = [\"order_payment.payment_token\"",
    );
    let src = src.replacen(
        "country = \"VN\"\ncross_border = false",
        "country = \"SG\"\ncross_border = false",
        1,
    );
    assert_single(
        &src,
        Code::CrossBorderMismatch,
        "cross_border = false",
        "carrier",
    );
}

#[test]
fn missing_right() {
    let block = src_block("[[right]]\nkind = \"objection\"", "due_days = 15\n");
    let src = mutate(&block, "");
    assert_single(
        &src,
        Code::MissingRight,
        "kind = \"restriction\"",
        "objection",
    );
}

#[test]
fn invalid_date() {
    let src = mutate("effective = \"2026-11-30\"", "effective = \"2026-13-01\"");
    assert_single(&src, Code::InvalidDate, "2026-13-01", "2026-13-01");
}

#[test]
fn invalid_duration() {
    let src = mutate("duration = \"18m\"", "duration = \"18 months\"");
    assert_single(&src, Code::InvalidDuration, "18 months", "18 months");
}

#[test]
fn invalid_country() {
    let src = mutate(
        "country = \"US\"\ncross_border = true\ntransfer_safeguard = { vi = \"Chỉ gửi giá trị",
        "country = \"usa\"\ncross_border = true\ntransfer_safeguard = { vi = \"Chỉ gửi giá trị",
    );
    assert_single(&src, Code::InvalidCountry, "country = \"usa\"", "usa");
}

#[test]
fn invalid_email() {
    let src = mutate("email = \"dpo@htpmart.vn\"", "email = \"dpo at htpmart\"");
    assert_single(&src, Code::InvalidEmail, "dpo at htpmart", "dpo at htpmart");
}

#[test]
fn site_that_is_not_a_web_address() {
    let src = mutate(
        "site = \"https://htpmart.vn\"",
        "site = \"javascript:alert(1)\"",
    );
    assert_single(&src, Code::InvalidUrl, "javascript:", "javascript:alert(1)");
}

#[test]
fn several_defects_are_all_reported_in_source_order() {
    let src = DEFAULT_POLICY
        .replacen("purposes = [\"security\"]", "purposes = [\"securty\"]", 1)
        .replacen("effective = \"2026-11-30\"", "effective = \"someday\"", 1);
    let errors = parse(&src).unwrap_err();
    assert_eq!(
        errors.codes(),
        vec![Code::InvalidDate, Code::UnknownPurpose]
    );
    let lines: Vec<usize> = errors.iter().map(|d| d.location.unwrap().line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn diagnostics_print_as_file_line_column() {
    let src = mutate("purposes = [\"security\"]", "purposes = [\"securty\"]");
    let d = parse(&src).unwrap_err().0.remove(0);
    let shown = d.display_in("policy/broken.toml");
    let loc = d.location.unwrap();
    assert_eq!(
        shown,
        format!(
            "policy/broken.toml:{}:{}: error[unknown_purpose]: role `admin` names undeclared purpose `securty`",
            loc.line, loc.column
        )
    );
}

#[test]
fn garbage_input_is_refused_without_panicking() {
    for src in [
        "",
        "\u{0}",
        "[[[",
        "schema = \"one\"",
        "🙂 = 1",
        &"[a]\n".repeat(1000),
    ] {
        assert!(parse(src).is_err());
    }
}

/// The default policy's text from the line starting `start` to the first `end` after it.
fn src_block(start: &str, end: &str) -> String {
    let from = DEFAULT_POLICY.find(start).unwrap();
    let len = DEFAULT_POLICY[from..].find(end).unwrap() + end.len();
    DEFAULT_POLICY[from..from + len].to_owned()
}

#[test]
fn role_masking_a_category_none_of_its_purposes_uses() {
    let src = mutate(
        "masked = [\"account_email\", \"account_phone\"]\n",
        "masked = [\"account_email\", \"order_items\"]\n",
    );
    assert_single(
        &src,
        Code::RestrictedRoleWithoutPurpose,
        "masked = [\"account_email\", \"order_items\"]",
        "order_items",
    );
}

#[test]
fn role_masking_an_undeclared_category() {
    let src = mutate(
        "masked = [\"account_email\", \"account_phone\"]\n",
        "masked = [\"account_email\", \"account_fax\"]\n",
    );
    assert_single(
        &src,
        Code::UnknownCategory,
        "masked = [\"account_email\", \"account_fax\"]",
        "account_fax",
    );
}

#[test]
fn role_with_an_unknown_operation_or_need_to_know() {
    for (from, to) in [
        (
            "operations = [\"customers.read\", \"access.explain\", \"users.manage\", \"tokens.manage\", \"outbox.manage\", \"legal.approve\"]",
            "operations = [\"customers.read\", \"customers.sell\"]",
        ),
        (
            "need_to_know = \"pseudonymous\"",
            "need_to_know = \"sometimes\"",
        ),
    ] {
        let errors = parse(&mutate(from, to)).expect_err("refused");
        assert_eq!(errors.0.len(), 1, "{errors:?}");
        assert_eq!(errors.0[0].code, Code::InvalidValue, "{:?}", errors.0[0]);
    }
}

#[test]
fn more_categories_than_the_access_engine_holds() {
    let extra: String = (0..128)
        .map(|i| {
            format!(
                "\n[[category]]\nid = \"extra_{i}\"\nlabel = {{ vi = \"x\", en = \"x\" }}\n\
                 description = {{ vi = \"x\", en = \"x\" }}\nsection = \"other\"\n\
                 sensitivity = \"basic\"\n[[category.field]]\nname = \"x\"\n\
                 label = {{ vi = \"x\", en = \"x\" }}\ntype = \"integer\"\n"
            )
        })
        .collect();
    let errors = parse(&format!("{DEFAULT_POLICY}{extra}")).expect_err("refused");
    assert!(
        errors
            .iter()
            .any(|d| d.code == Code::LimitExceeded && d.message.contains("at most 128 categories")),
        "{errors:?}"
    );
}

#[test]
fn age_of_consent_outside_what_any_law_sets() {
    let src = mutate("age_of_consent = 16", "age_of_consent = 3");
    assert_single(&src, Code::InvalidValue, "age_of_consent", "age_of_consent");
}

/// The line of `[controller]` holding `key = {…}`, for removing or changing it.
fn controller_line(key: &str) -> &'static str {
    DEFAULT_POLICY
        .lines()
        .find(|l| l.starts_with(&format!("{key} = {{ vi = \"Chưa công bố")))
        .unwrap_or_else(|| panic!("no controller `{key}` line"))
}

#[test]
fn controller_without_a_postal_address() {
    let src = mutate(controller_line("address"), "");
    assert_single(
        &src,
        Code::MissingControllerContact,
        "name = \"Htpmart.vn\"",
        "`address`",
    );
}

#[test]
fn controller_without_a_telephone() {
    let src = mutate(controller_line("phone"), "");
    assert_single(
        &src,
        Code::MissingControllerContact,
        "name = \"Htpmart.vn\"",
        "`phone`",
    );
}

#[test]
fn controller_contact_in_one_language_only_or_on_two_lines() {
    let src = mutate(
        controller_line("phone"),
        "phone = { vi = \"+84 28 3000 0000\" }",
    );
    assert_single(
        &src,
        Code::MissingTranslation,
        "phone = ",
        "controller phone",
    );
    let src = mutate(
        controller_line("address"),
        "address = { vi = \"a\\nb\", en = \"a\" }",
    );
    assert_single(&src, Code::InvalidValue, "address = ", "one line");
}
