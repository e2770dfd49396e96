//! `plinth fmt`: Terraform's canonical layout, applied token by token so comments and
//! heredocs survive untouched. Indentation follows the net bracket count of each line;
//! the `=` of adjacent one-line arguments and their trailing comments are aligned;
//! spaces between tokens follow Terraform's rules; an argument whose whole value is
//! `"${expr}"` becomes `expr`; block labels are quoted; a variable's pre-0.12 `type`
//! is rewritten; `${ … }` and `%{ … }` inside heredocs are laid out like those in
//! quoted strings; comments keep their trailing spaces (all as `terraform fmt` does).

use hcl_primitives::ident::{is_id_continue, is_id_start};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Newline,
    Comment,
    Ident,
    Number,
    OQuote,
    QuotedLit,
    CQuote,
    /// `${`
    Interp,
    /// `%{`
    Control,
    /// The `}` closing `${` or `%{`.
    SeqEnd,
    /// A strip marker `~` inside `${`/`%{`.
    Tilde,
    /// A whole heredoc, opener to closing delimiter, kept verbatim.
    Heredoc,
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    Comma,
    Dot,
    Ellipsis,
    Equal,
    Colon,
    Question,
    Arrow,
    Minus,
    Bang,
    /// Any other operator: `+ * / % == != < > <= >= && ||`.
    Op,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    text: String,
}

impl Token {
    fn bracket_change(&self) -> i32 {
        match self.kind {
            Kind::OBrace | Kind::OBrack | Kind::OParen | Kind::Interp | Kind::Control => 1,
            Kind::CBrace | Kind::CBrack | Kind::CParen | Kind::SeqEnd => -1,
            _ => 0,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Ordinary expression and structure tokens; the count is the `{` depth opened
    /// inside an enclosing `${` or `%{` (0 outside templates).
    Code(u32),
    /// Inside a quoted string.
    Quoted,
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    modes: Vec<Mode>,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn push(&mut self, kind: Kind, len: usize) {
        let text = self.src[self.pos..self.pos + len].to_string();
        self.tokens.push(Token { kind, text });
        self.pos += len;
    }

    fn run(mut self) -> Vec<Token> {
        while self.pos < self.src.len() {
            self.step();
        }
        self.tokens
    }

    fn step(&mut self) {
        match self.modes.last().copied().unwrap_or(Mode::Code(0)) {
            Mode::Quoted => self.quoted(),
            Mode::Code(depth) => self.code(depth),
        }
    }

    fn quoted(&mut self) {
        let rest = self.rest();
        let mut end = 0;
        let bytes = rest.as_bytes();
        while end < bytes.len() {
            match bytes[end] {
                b'\\' => end += 2,
                b'"' | b'\n' => break,
                b'$' | b'%' if bytes.get(end + 1) == Some(&b'{') => {
                    if end > 0
                        && bytes[end - 1] == bytes[end]
                        && !rest[..end - 1].ends_with(bytes[end] as char)
                    {
                        end += 2;
                        continue;
                    }
                    break;
                }
                _ => end += 1,
            }
        }
        let end = end.min(bytes.len());
        let end = (0..=end)
            .rev()
            .find(|e| rest.is_char_boundary(*e))
            .unwrap_or(0);
        if end > 0 {
            self.push(Kind::QuotedLit, end);
            return;
        }
        match bytes.first() {
            Some(b'"') => {
                self.push(Kind::CQuote, 1);
                self.modes.pop();
            }
            Some(b'$') => {
                self.push(Kind::Interp, 2);
                self.modes.push(Mode::Code(0));
            }
            Some(b'%') => {
                self.push(Kind::Control, 2);
                self.modes.push(Mode::Code(0));
            }
            Some(b'\n') => {
                // An unterminated string; give up on it at the line's end.
                self.modes.pop();
            }
            _ => {
                let len = rest.chars().next().map_or(1, char::len_utf8);
                self.push(Kind::QuotedLit, len);
            }
        }
    }

    fn code(&mut self, depth: u32) {
        let rest = self.rest();
        let c = rest.chars().next().unwrap_or(' ');
        let in_template = self.modes.len() > 1;
        match c {
            ' ' | '\t' | '\r' => self.pos += 1,
            '\n' => self.push(Kind::Newline, 1),
            '#' => self.push(Kind::Comment, rest.find('\n').unwrap_or(rest.len())),
            '/' if rest.starts_with("//") => {
                self.push(Kind::Comment, rest.find('\n').unwrap_or(rest.len()))
            }
            '/' if rest.starts_with("/*") => {
                let len = rest[2..].find("*/").map_or(rest.len(), |i| i + 4);
                self.push(Kind::Comment, len);
            }
            '"' => {
                self.push(Kind::OQuote, 1);
                self.modes.push(Mode::Quoted);
            }
            '<' if rest.starts_with("<<") && heredoc_len(rest).is_some() => {
                let len = heredoc_len(rest).unwrap_or(2);
                let text = format_heredoc(&rest[..len]);
                self.tokens.push(Token {
                    kind: Kind::Heredoc,
                    text,
                });
                self.pos += len;
            }
            '{' => {
                self.push(Kind::OBrace, 1);
                if let Some(Mode::Code(d)) = self.modes.last_mut() {
                    *d += 1;
                }
            }
            '}' if in_template && depth == 0 => {
                self.push(Kind::SeqEnd, 1);
                self.modes.pop();
            }
            '}' => {
                self.push(Kind::CBrace, 1);
                if let Some(Mode::Code(d)) = self.modes.last_mut() {
                    *d = d.saturating_sub(1);
                }
            }
            '~' => self.push(Kind::Tilde, 1),
            '[' => self.push(Kind::OBrack, 1),
            ']' => self.push(Kind::CBrack, 1),
            '(' => self.push(Kind::OParen, 1),
            ')' => self.push(Kind::CParen, 1),
            ',' => self.push(Kind::Comma, 1),
            '.' if rest.starts_with("...") => self.push(Kind::Ellipsis, 3),
            '.' => self.push(Kind::Dot, 1),
            '=' if rest.starts_with("=>") => self.push(Kind::Arrow, 2),
            '=' if rest.starts_with("==") => self.push(Kind::Op, 2),
            '=' => self.push(Kind::Equal, 1),
            '!' if rest.starts_with("!=") => self.push(Kind::Op, 2),
            '!' => self.push(Kind::Bang, 1),
            '<' | '>' if rest[1..].starts_with('=') => self.push(Kind::Op, 2),
            '&' | '|' if rest.len() > 1 && rest.as_bytes()[1] == c as u8 => self.push(Kind::Op, 2),
            '<' | '>' | '+' | '*' | '/' | '%' | '&' | '|' => self.push(Kind::Op, 1),
            '-' => self.push(Kind::Minus, 1),
            ':' => self.push(Kind::Colon, 1),
            '?' => self.push(Kind::Question, 1),
            c if c.is_ascii_digit() => {
                let len = number_len(rest);
                self.push(Kind::Number, len);
            }
            c if is_id_start(c) => {
                let len = rest
                    .char_indices()
                    .find(|(_, c)| !is_id_continue(*c))
                    .map_or(rest.len(), |(i, _)| i);
                self.push(Kind::Ident, len);
            }
            other => self.push(Kind::Op, other.len_utf8()),
        }
    }
}

fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    i.max(1)
}

/// The length of a heredoc starting at `s` (`<<EOT` or `<<-EOT` up to and including
/// the closing delimiter), or `None` if `s` does not start one.
fn heredoc_len(s: &str) -> Option<usize> {
    let after = s.strip_prefix("<<")?;
    let after = after.strip_prefix('-').unwrap_or(after);
    let ident_len = after
        .char_indices()
        .find(|(_, c)| !is_id_continue(*c))
        .map_or(after.len(), |(i, _)| i);
    if ident_len == 0 {
        return None;
    }
    let delim = &after[..ident_len];
    let header_len = s.len() - after.len() + ident_len;
    let rest = &s[header_len..];
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let body_start = s.len() - rest.len();
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim() == delim {
            let trimmed = line.trim_end_matches(['\n', '\r']);
            return Some(body_start + offset + trimmed.len());
        }
        offset += line.len();
    }
    None
}

/// A heredoc with the `${ … }` and `%{ … }` sequences of its body laid out as in a
/// quoted string (`${ var.a }` → `${var.a}`), as `terraform fmt` does; the literal
/// text, `$${`/`%%{` escapes and a sequence that spans lines are kept as written.
fn format_heredoc(text: &str) -> String {
    let Some(body_start) = text.find('\n').map(|i| i + 1) else {
        return text.to_string();
    };
    let mut out = String::from(&text[..body_start]);
    let body = &text[body_start..];
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut literal_from = 0;
    while i < bytes.len() {
        let opens = matches!(bytes[i], b'$' | b'%') && bytes.get(i + 1) == Some(&b'{');
        if !opens {
            i += 1;
            continue;
        }
        if bytes.get(i.wrapping_sub(1)) == Some(&bytes[i]) && i > 0 {
            // `$${` or `%%{`: an escape, literal text.
            i += 2;
            continue;
        }
        let mut lexer = Lexer {
            src: &body[i..],
            pos: 0,
            tokens: Vec::new(),
            modes: vec![Mode::Quoted],
        };
        lexer.step();
        while lexer.modes.len() > 1 && lexer.pos < lexer.src.len() {
            lexer.step();
        }
        let spans_lines = lexer
            .tokens
            .iter()
            .any(|t| t.kind == Kind::Newline || (t.kind == Kind::Comment) || t.text.contains('\n'));
        if lexer.modes.len() > 1 || spans_lines {
            i += 2;
            continue;
        }
        out.push_str(&body[literal_from..i]);
        out.push_str(&render(&lexer.tokens));
        i += lexer.pos;
        literal_from = i;
    }
    out.push_str(&body[literal_from..]);
    out
}

/// Whether a space goes between two tokens (`before` precedes `subject`).
fn space_between(before: Option<&Token>, subject: &Token, after: &Token) -> bool {
    use Kind::*;
    let k = subject.kind;
    let a = after.kind;
    match () {
        _ if a == Newline => false,
        _ if k == Ident && a == OParen => false,
        _ if k == Dot || a == Dot => false,
        _ if a == Comma || a == Ellipsis => false,
        _ if k == Comma => true,
        _ if matches!(k, QuotedLit | OQuote) || matches!(a, QuotedLit | CQuote) => false,
        _ if k == Tilde || a == Tilde => false,
        _ if k == Ident && subject.text == "in" && before.is_some_and(|b| b.kind == Ident) => true,
        _ if a == OBrack && (matches!(k, Ident | Number) || subject.bracket_change() < 0) => false,
        _ if k == Bang => false,
        _ if k == Minus => !matches!(
            before.map(|b| b.kind),
            None | Some(
                OParen
                    | OBrace
                    | OBrack
                    | Equal
                    | Colon
                    | Comma
                    | Question
                    | Op
                    | Minus
                    | Bang
                    | Arrow
                    | Interp
                    | Control
                    | Newline
            )
        ),
        _ if k == OBrace && a == CBrace => false,
        _ if k == OBrace || a == CBrace => true,
        _ if matches!(k, Interp | Control) && a == OBrace => true,
        _ if k == CBrace && a == SeqEnd => true,
        _ if k == SeqEnd && matches!(a, Interp | Control) => false,
        _ if subject.bracket_change() > 0 => false,
        _ if after.bracket_change() < 0 => false,
        _ => true,
    }
}

struct Line {
    /// Tokens before the argument's `=` (or all of them when there is none).
    lead: Vec<Token>,
    /// The `=` and what follows, when the line assigns an argument.
    assign: Vec<Token>,
    comment: Option<Token>,
    indent: usize,
}

fn render(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        out.push_str(&t.text);
        if let Some(next) = tokens.get(i + 1) {
            let before = if i > 0 { tokens.get(i - 1) } else { None };
            if space_between(before, t, next) {
                out.push(' ');
            }
        }
    }
    out
}

/// `"${expr}"` as a whole argument value becomes `expr`, as `terraform fmt` does.
fn unwrap_interpolation(assign: &mut Vec<Token>) {
    let n = assign.len();
    if n < 6 || assign[1].kind != Kind::OQuote || assign[2].kind != Kind::Interp {
        return;
    }
    if assign[n - 1].kind != Kind::CQuote || assign[n - 2].kind != Kind::SeqEnd {
        return;
    }
    // The `${` must close at the end: no literal text or second interpolation.
    let mut depth = 0;
    for (i, t) in assign[2..n - 1].iter().enumerate() {
        match t.kind {
            Kind::Interp | Kind::Control => depth += 1,
            Kind::SeqEnd => {
                depth -= 1;
                if depth == 0 && i + 2 != n - 2 {
                    return;
                }
            }
            Kind::Tilde if depth == 1 => return,
            _ => {}
        }
    }
    let inner: Vec<Token> = assign[3..n - 2].to_vec();
    if inner.is_empty() {
        return;
    }
    assign.truncate(1);
    assign.extend(inner);
}

/// A block header's identifier labels quoted, as `terraform fmt` writes them:
/// `resource aws_vpc this {` becomes `resource "aws_vpc" "this" {`. A header is a
/// line of a block type and labels (identifiers or plain quoted strings) up to `{`.
fn quote_labels(toks: &mut Vec<Token>) {
    if toks.first().is_none_or(|t| t.kind != Kind::Ident) {
        return;
    }
    let mut i = 1;
    let mut bare = Vec::new();
    loop {
        match toks.get(i).map(|t| t.kind) {
            Some(Kind::Ident) => {
                bare.push(i);
                i += 1;
            }
            Some(Kind::OQuote) => match (toks.get(i + 1), toks.get(i + 2)) {
                (Some(l), Some(c)) if l.kind == Kind::QuotedLit && c.kind == Kind::CQuote => i += 3,
                (Some(c), _) if c.kind == Kind::CQuote => i += 2,
                _ => return,
            },
            Some(Kind::OBrace) if i > 1 => break,
            _ => return,
        }
    }
    for at in bare.into_iter().rev() {
        let name = toks[at].text.clone();
        toks.splice(
            at..=at,
            [
                Token {
                    kind: Kind::OQuote,
                    text: "\"".into(),
                },
                Token {
                    kind: Kind::QuotedLit,
                    text: name,
                },
                Token {
                    kind: Kind::CQuote,
                    text: "\"".into(),
                },
            ],
        );
    }
}

/// Where the `{` of a `variable "name" {` header is, if `toks` starts with one.
fn variable_header(toks: &[Token]) -> Option<usize> {
    let first = toks.first()?;
    if first.kind != Kind::Ident || first.text != "variable" {
        return None;
    }
    toks.iter().position(|t| t.kind == Kind::OBrace)
}

/// Whether `toks[at..]` starts `type =`.
fn is_type_argument(toks: &[Token], at: usize) -> bool {
    matches!(
        (toks.get(at), toks.get(at + 1)),
        (Some(t), Some(e)) if t.kind == Kind::Ident && t.text == "type" && e.kind == Kind::Equal
    )
}

/// A variable's type written in the pre-0.12 way, rewritten as `terraform fmt` does:
/// `"string"` → `string`, `"list"` → `list(string)`, `"map"` → `map(string)`, and the
/// bare `list`, `map`, `set` → `list(any)`, `map(any)`, `set(any)`. The value is
/// `toks[at..end]` (`end`: the line's end, or the `}` of a one-line block).
fn upgrade_legacy_type(toks: &mut Vec<Token>, at: usize, end: Option<usize>) {
    let end = end.unwrap_or(toks.len());
    if at > end {
        return;
    }
    let value = &toks[at..end];
    let (name, element) = match value {
        [o, l, c]
            if o.kind == Kind::OQuote && l.kind == Kind::QuotedLit && c.kind == Kind::CQuote =>
        {
            match l.text.as_str() {
                "string" => ("string", None),
                "list" => ("list", Some("string")),
                "map" => ("map", Some("string")),
                _ => return,
            }
        }
        [t] if t.kind == Kind::Ident && matches!(t.text.as_str(), "list" | "map" | "set") => {
            (t.text.as_str(), Some("any"))
        }
        _ => return,
    };
    let token = |kind, text: &str| Token {
        kind,
        text: text.to_string(),
    };
    let mut new = vec![token(Kind::Ident, name)];
    if let Some(element) = element {
        new.extend([
            token(Kind::OParen, "("),
            token(Kind::Ident, element),
            token(Kind::CParen, ")"),
        ]);
    }
    toks.splice(at..end, new);
}

/// Formats HCL source in Terraform's canonical style. The input should parse; text
/// the layout does not fully understand — its output would not parse, or would change
/// again when formatted — comes back unchanged, so fmt never damages a file.
pub fn format_source(src: &str) -> String {
    let formatted = layout(src);
    if formatted == src {
        return formatted;
    }
    let parses = super::duplicate_keys::parse_body(&formatted).is_ok();
    if parses && layout(&formatted) == formatted {
        formatted
    } else {
        src.to_string()
    }
}

fn layout(src: &str) -> String {
    let tokens = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
        modes: vec![Mode::Code(0)],
    }
    .run();
    let mut raw_lines: Vec<Vec<Token>> = vec![Vec::new()];
    for t in tokens {
        if t.kind == Kind::Newline {
            raw_lines.push(Vec::new());
        } else if let Some(line) = raw_lines.last_mut() {
            line.push(t);
        }
    }
    let mut lines = Vec::with_capacity(raw_lines.len());
    let mut indents: Vec<i32> = Vec::new();
    // `(` and `[` open on earlier lines: a block header only starts outside them.
    let mut open_groups = 0i32;
    // Lines that opened something, innermost last: whether it is a `variable` block,
    // and its indent.
    let mut blocks: Vec<(bool, usize)> = Vec::new();
    for mut toks in raw_lines {
        if open_groups == 0 {
            quote_labels(&mut toks);
        }
        for t in &toks {
            match t.kind {
                Kind::OParen | Kind::OBrack => open_groups += 1,
                Kind::CParen | Kind::CBrack => open_groups -= 1,
                _ => {}
            }
        }
        open_groups = open_groups.max(0);
        let comment = match toks.last() {
            Some(t) if t.kind == Kind::Comment && toks.len() > 1 => toks.pop(),
            _ => None,
        };
        let net: i32 = toks.iter().map(Token::bracket_change).sum();
        let indent;
        if net > 0 {
            indent = indents.len();
            indents.push(net);
        } else {
            if net < 0 {
                let mut closed = -net;
                while closed > 0 {
                    let Some(top) = indents.last_mut() else { break };
                    if closed >= *top {
                        closed -= *top;
                        indents.pop();
                    } else {
                        *top -= closed;
                        closed = 0;
                    }
                }
            }
            indent = indents.len();
        }
        while blocks.last().is_some_and(|(_, at)| *at >= indent) {
            blocks.pop();
        }
        if blocks.last() == Some(&(true, indent.wrapping_sub(1))) && is_type_argument(&toks, 0) {
            upgrade_legacy_type(&mut toks, 2, None);
        }
        if let Some(open) = variable_header(&toks) {
            if is_type_argument(&toks, open + 1)
                && toks.last().is_some_and(|t| t.kind == Kind::CBrace)
            {
                let end = toks.len() - 1;
                upgrade_legacy_type(&mut toks, open + 3, Some(end));
            }
        }
        if net > 0 {
            blocks.push((variable_header(&toks).is_some(), indent));
        }
        let mut depth = 0;
        let mut split = None;
        for (i, t) in toks.iter().enumerate() {
            if t.kind == Kind::Equal && depth == 0 && i > 0 {
                split = Some(i);
                break;
            }
            depth += t.bracket_change();
        }
        let (lead, mut assign) = match split {
            Some(i) => {
                let assign = toks.split_off(i);
                (toks, assign)
            }
            None => (toks, Vec::new()),
        };
        unwrap_interpolation(&mut assign);
        lines.push((
            Line {
                lead,
                assign,
                comment,
                indent,
            },
            net > 0,
        ));
    }

    // Align the `=` of adjacent one-line arguments; a blank line, a line without an
    // argument, or one that opens a multi-line value ends the run; comment-only lines
    // do not.
    let width = |l: &Line| 2 * l.indent + render(&l.lead).chars().count();
    let mut texts: Vec<String> = Vec::with_capacity(lines.len());
    let mut run: Vec<usize> = Vec::new();
    let flush = |run: &mut Vec<usize>, texts: &mut Vec<String>, lines: &Vec<(Line, bool)>| {
        let max = run.iter().map(|i| width(&lines[*i].0)).max().unwrap_or(0);
        for i in run.drain(..) {
            let l = &lines[i].0;
            let pad = max - width(l) + 1;
            texts[i] = format!(
                "{}{}{}{}",
                "  ".repeat(l.indent),
                render(&l.lead),
                " ".repeat(pad),
                render(&l.assign)
            );
        }
    };
    for (i, (l, opens)) in lines.iter().enumerate() {
        let lead = render(&l.lead);
        let text = if l.assign.is_empty() {
            if lead.is_empty() {
                String::new()
            } else {
                format!("{}{lead}", "  ".repeat(l.indent))
            }
        } else {
            format!("{}{lead} {}", "  ".repeat(l.indent), render(&l.assign))
        };
        texts.push(text);
        let comment_only = l.lead.is_empty() && l.comment.is_some();
        if comment_only {
            continue;
        }
        if !l.assign.is_empty() && !opens {
            run.push(i);
        } else {
            flush(&mut run, &mut texts, &lines);
        }
    }
    flush(&mut run, &mut texts, &lines);

    // Align trailing comments of adjacent lines.
    let mut run: Vec<usize> = Vec::new();
    let flush_comments = |run: &mut Vec<usize>, texts: &mut Vec<String>| {
        let max = run
            .iter()
            .map(|i| texts[*i].chars().count())
            .max()
            .unwrap_or(0);
        for i in run.drain(..) {
            let pad = max - texts[i].chars().count() + 1;
            let comment = lines[i]
                .0
                .comment
                .as_ref()
                .map(|c| c.text.trim_end_matches('\r'))
                .unwrap_or("");
            texts[i] = format!("{}{}{comment}", texts[i], " ".repeat(pad));
        }
    };
    for (i, (l, _)) in lines.iter().enumerate() {
        match &l.comment {
            Some(c) if l.lead.is_empty() => {
                flush_comments(&mut run, &mut texts);
                texts[i] = format!("{}{}", "  ".repeat(l.indent), c.text.trim_end_matches('\r'));
            }
            Some(_) => run.push(i),
            None => flush_comments(&mut run, &mut texts),
        }
    }
    flush_comments(&mut run, &mut texts);
    let mut out = texts.join("\n");
    // Comment-only lines carry their comment in `lead`.
    if !out.ends_with('\n') && src.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format_source;

    #[test]
    fn matches_terraform_fmt() {
        // The expected text is what `terraform fmt` (v1.0.3) wrote for the input.
        let input = "resource \"aws_instance\"   \"x\"{\nami=\"abc\" # the ami\n  instance_type =   \"t2.micro\"   // type\n    tags={Name=\"x\",Env = \"prod\"}\n  count=1+2*3\n  list = [1,2,\n  3]\n  nested {\n  a=1\n  bbb=  2\n  }\n  x = var.a? 1:2\n  y = !var.b\n  z = -1\n  f = func( 1 , 2 )\n  s = \"${ var.x }-a\"\n  m = {\n    a = 1\n    bbbb = 2 # c\n    c= {d=1}\n  }\n  idx = var.l[ 0 ]\n  splat = var.l[*].id\n  fe = [for x in var.l: x if x>1]\n  fo = {for k,v in var.m: k=>v...}\n\n  after_blank = 1\n  /* block comment */\n  q = a.b.c\n}\n# comment\n\n\nvariable \"v\" {\n  type = list( string )\n}\nlocals { a = 1 }\n";
        let want = "resource \"aws_instance\" \"x\" {\n  ami           = \"abc\"      # the ami\n  instance_type = \"t2.micro\" // type\n  tags          = { Name = \"x\", Env = \"prod\" }\n  count         = 1 + 2 * 3\n  list = [1, 2,\n  3]\n  nested {\n    a   = 1\n    bbb = 2\n  }\n  x = var.a ? 1 : 2\n  y = !var.b\n  z = -1\n  f = func(1, 2)\n  s = \"${var.x}-a\"\n  m = {\n    a    = 1\n    bbbb = 2 # c\n    c    = { d = 1 }\n  }\n  idx   = var.l[0]\n  splat = var.l[*].id\n  fe    = [for x in var.l : x if x > 1]\n  fo    = { for k, v in var.m : k => v... }\n\n  after_blank = 1\n  /* block comment */\n  q = a.b.c\n}\n# comment\n\n\nvariable \"v\" {\n  type = list(string)\n}\nlocals { a = 1 }\n";
        assert_eq!(format_source(input), want);
    }

    #[test]
    fn matches_terraform_fmt_on_templates_heredocs_and_operators() {
        let input = "locals {\n  aa = 1\n  m = {\n    bbbbbb = 1\n  }\n  c = 2\n  dddd = [\n    1,\n  ]\n  e = 3 # x\n  ffff = 4 # yy\n  # own line\n  g = 5\n  t1 = \"%{ for x in y ~} ${ x } %{~ endfor }\"\n  t2 = \"${ {a=1} }\"\n  h = <<EOT\n  raw   =   text\nEOT\n  i = <<-EOT\n      raw2\n    EOT\n  neg = 1 -1\n  neg2 = a - -1\n  neg3 = [-1, - 2]\n  call = f(a...)\n  cond = a?b:c\n  idx = a [0]\n  obj = {a:1}\n  sp = a.*.b\n  p = (a+b)*c\n}\nblock  {\n}\nblock \"a\" \"b\" {}\na = {}\n";
        let want = "locals {\n  aa = 1\n  m = {\n    bbbbbb = 1\n  }\n  c = 2\n  dddd = [\n    1,\n  ]\n  e    = 3 # x\n  ffff = 4 # yy\n  # own line\n  g    = 5\n  t1   = \"%{for x in y~} ${x} %{~endfor}\"\n  t2   = { a = 1 }\n  h    = <<EOT\n  raw   =   text\nEOT\n  i    = <<-EOT\n      raw2\n    EOT\n  neg  = 1 - 1\n  neg2 = a - -1\n  neg3 = [-1, -2]\n  call = f(a...)\n  cond = a ? b : c\n  idx  = a[0]\n  obj  = { a : 1 }\n  sp   = a.*.b\n  p    = (a + b) * c\n}\nblock {\n}\nblock \"a\" \"b\" {}\na = {}\n";
        assert_eq!(format_source(input), want);
    }

    #[test]
    fn matches_terraform_fmt_on_labels_legacy_types_heredocs_and_comments() {
        // Each expected text is what `terraform fmt` (v1.0.3) wrote for the input.
        let cases = [
            (
                "resource aws_vpc this {\n  a = 1\n}\nblk a \"b\" {\n  inner x {\n  }\n}\nmodule m { source = \"./x\" }\n",
                "resource \"aws_vpc\" \"this\" {\n  a = 1\n}\nblk \"a\" \"b\" {\n  inner \"x\" {\n  }\n}\nmodule \"m\" { source = \"./x\" }\n",
            ),
            (
                "variable \"a\" {\n  type = \"string\"\n}\nvariable \"b\" {\n  type = \"list\"\n  default = {\n    type = \"map\"\n  }\n}\nvariable \"c\" {\n  type = \"map\"\n}\nvariable \"d\" {\n  type = set\n}\nvariable \"e\" { type = map }\nvariable \"f\" {\n  type = \"bool\"\n}\nlocals {\n  type = \"string\"\n}\n",
                "variable \"a\" {\n  type = string\n}\nvariable \"b\" {\n  type = list(string)\n  default = {\n    type = \"map\"\n  }\n}\nvariable \"c\" {\n  type = map(string)\n}\nvariable \"d\" {\n  type = set(any)\n}\nvariable \"e\" { type = map(any) }\nvariable \"f\" {\n  type = \"bool\"\n}\nlocals {\n  type = \"string\"\n}\n",
            ),
            (
                "locals {\n  x = <<EOT\n${ \"a\" } $${ b } %%{ c } ${ f( 1,2 ) } %{ if true }y%{ endif }\nEOT\n}\n",
                "locals {\n  x = <<EOT\n${\"a\"} $${ b } %%{ c } ${f(1, 2)} %{if true}y%{endif}\nEOT\n}\n",
            ),
            (
                "locals {\n  j = 1   # trailing   \n  # own line   \n}\n",
                "locals {\n  j = 1 # trailing   \n  # own line   \n}\n",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(format_source(input), want, "{input}");
        }
    }

    #[test]
    fn is_idempotent_on_its_output() {
        let input = "locals {\n  a = {\n    b = [1,2]\n  }\n}\n";
        let once = format_source(input);
        assert_eq!(format_source(&once), once);
    }
}
