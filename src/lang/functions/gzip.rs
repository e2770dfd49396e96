//! gzip laid out byte for byte as Go's `compress/gzip` writes it at the default level,
//! which is what Terraform's `base64gzip` returns: Go's own deflate (hash chains with
//! lazy matching at level 6, blocks of at most 16,384 tokens, each written as fixed
//! Huffman, dynamic Huffman or stored, whichever is smallest, with Go's way of building
//! Huffman codes). zlib picks other matches and codes, so its bytes differ from Go's
//! for all but tiny inputs even though both decompress to the same text.

const WINDOW_SIZE: usize = 1 << 15;
const WINDOW_MASK: usize = WINDOW_SIZE - 1;
const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = 258;
const BASE_MATCH_LENGTH: usize = 3;
const MAX_BLOCK_TOKENS: usize = 1 << 14;
const MAX_STORED_BLOCK: usize = 65_535;
const HASH_BITS: u32 = 17;
const HASH_SIZE: usize = 1 << HASH_BITS;
const HASH_MASK: usize = HASH_SIZE - 1;
const HASH_MUL: u32 = 0x1e35_a7bd;
const MAX_HASH_OFFSET: i64 = 1 << 24;
/// Where Go marks "the block started before the window slid": past any index.
const BLOCK_START_LOST: i64 = i32::MAX as i64;

/// Level 6, Go's default: stop looking lazily past 16, accept 128 as nice, follow
/// chains 128 deep (a match of 8 would quarter that, but searches start at 3).
const LAZY: usize = 16;
const NICE: usize = 128;
const CHAIN: usize = 128;

const LITERAL_CODES: usize = 286;
const OFFSET_CODES: usize = 30;
const CODEGEN_CODES: usize = 19;
const LENGTH_CODES_START: usize = 257;
const END_BLOCK: u16 = 256;
const CODEGEN_ORDER: [usize; CODEGEN_CODES] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];
const LENGTH_EXTRA_BITS: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Match length minus 3 at which each length code starts.
const LENGTH_BASE: [u32; 29] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128,
    160, 192, 224, 255,
];
const OFFSET_EXTRA_BITS: [u32; OFFSET_CODES] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// Distance minus 1 at which each distance code starts.
const OFFSET_BASE: [u32; OFFSET_CODES] = [
    0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536,
    2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576,
];

/// The whole `gzip.NewWriter` → `Write` → `Flush` → `Close` sequence over `data`.
pub fn go_gzip(data: &[u8]) -> Vec<u8> {
    let mut deflate = Deflater::new();
    deflate.bits.out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    deflate.write(data);
    deflate.finish(false);
    deflate.finish(true);
    let mut out = std::mem::take(&mut deflate.bits.out);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (n, slot) in table.iter_mut().enumerate() {
        let mut c = n as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

#[derive(Clone, Copy)]
enum Token {
    Literal(u16),
    /// Length minus 3 and distance minus 1, as deflate codes them.
    Match(u32, u32),
}

fn hash4(b: &[u8]) -> usize {
    let word =
        u32::from(b[3]) | u32::from(b[2]) << 8 | u32::from(b[1]) << 16 | u32::from(b[0]) << 24;
    (word.wrapping_mul(HASH_MUL) >> (32 - HASH_BITS)) as usize
}

struct Deflater {
    window: Vec<u8>,
    window_end: usize,
    index: usize,
    block_start: i64,
    hash_head: Vec<u32>,
    hash_prev: Vec<u32>,
    hash_offset: i64,
    chain_head: i64,
    length: usize,
    offset: usize,
    byte_available: bool,
    max_insert_index: i64,
    sync: bool,
    tokens: Vec<Token>,
    bits: BlockWriter,
}

impl Deflater {
    fn new() -> Self {
        Deflater {
            window: vec![0; 2 * WINDOW_SIZE],
            window_end: 0,
            index: 0,
            block_start: 0,
            hash_head: vec![0; HASH_SIZE],
            hash_prev: vec![0; WINDOW_SIZE],
            hash_offset: 1,
            chain_head: -1,
            length: MIN_MATCH - 1,
            offset: 0,
            byte_available: false,
            max_insert_index: 0,
            sync: false,
            tokens: Vec::with_capacity(MAX_BLOCK_TOKENS + 1),
            bits: BlockWriter::new(),
        }
    }

    fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            self.step();
            let n = self.fill(data);
            data = &data[n..];
        }
    }

    /// A sync flush (`final_block` false) or a close: everything pending goes out, then
    /// an empty stored block.
    fn finish(&mut self, final_block: bool) {
        self.sync = true;
        self.step();
        self.bits.stored_header(0, final_block);
        self.bits.align();
        self.sync = false;
    }

    fn fill(&mut self, data: &[u8]) -> usize {
        if self.index >= 2 * WINDOW_SIZE - (MIN_MATCH + MAX_MATCH) {
            self.window.copy_within(WINDOW_SIZE.., 0);
            self.index -= WINDOW_SIZE;
            self.window_end -= WINDOW_SIZE;
            self.block_start = if self.block_start >= WINDOW_SIZE as i64 {
                self.block_start - WINDOW_SIZE as i64
            } else {
                BLOCK_START_LOST
            };
            self.hash_offset += WINDOW_SIZE as i64;
            if self.hash_offset > MAX_HASH_OFFSET {
                let delta = self.hash_offset - 1;
                self.hash_offset -= delta;
                self.chain_head -= delta;
                for v in self.hash_prev.iter_mut().chain(self.hash_head.iter_mut()) {
                    *v = if i64::from(*v) > delta {
                        (i64::from(*v) - delta) as u32
                    } else {
                        0
                    };
                }
            }
        }
        let n = data.len().min(self.window.len() - self.window_end);
        self.window[self.window_end..self.window_end + n].copy_from_slice(&data[..n]);
        self.window_end += n;
        n
    }

    fn insert_hash(&mut self, at: usize) -> u32 {
        let h = hash4(&self.window[at..at + MIN_MATCH]);
        let previous = self.hash_head[h & HASH_MASK];
        self.hash_prev[at & WINDOW_MASK] = previous;
        self.hash_head[h & HASH_MASK] = (at as i64 + self.hash_offset) as u32;
        previous
    }

    fn step(&mut self) {
        if self.window_end - self.index < MIN_MATCH + MAX_MATCH && !self.sync {
            return;
        }
        self.max_insert_index = self.window_end as i64 - (MIN_MATCH as i64 - 1);
        loop {
            let lookahead = self.window_end - self.index;
            if lookahead < MIN_MATCH + MAX_MATCH {
                if !self.sync {
                    break;
                }
                if lookahead == 0 {
                    if self.byte_available {
                        let last = self.window[self.index - 1];
                        self.tokens.push(Token::Literal(u16::from(last)));
                        self.byte_available = false;
                    }
                    if !self.tokens.is_empty() {
                        self.write_block(self.index);
                    }
                    break;
                }
            }
            if (self.index as i64) < self.max_insert_index {
                self.chain_head = i64::from(self.insert_hash(self.index));
            }
            let prev_length = self.length;
            let prev_offset = self.offset;
            self.length = MIN_MATCH - 1;
            self.offset = 0;
            let min_index = self.index.saturating_sub(WINDOW_SIZE) as i64;
            if self.chain_head - self.hash_offset >= min_index
                && lookahead > prev_length
                && prev_length < LAZY
            {
                let head = (self.chain_head - self.hash_offset) as usize;
                if let Some((length, offset)) = self.find_match(self.index, head, lookahead) {
                    self.length = length;
                    self.offset = offset;
                }
            }
            if prev_length >= MIN_MATCH && self.length <= prev_length {
                // The previous position's match is at least as good: emit it and
                // hash every position it covers.
                self.tokens.push(Token::Match(
                    (prev_length - BASE_MATCH_LENGTH) as u32,
                    (prev_offset - 1) as u32,
                ));
                let end = self.index + prev_length - 1;
                let mut at = self.index + 1;
                while at < end {
                    if (at as i64) < self.max_insert_index {
                        self.insert_hash(at);
                    }
                    at += 1;
                }
                self.index = at;
                self.byte_available = false;
                self.length = MIN_MATCH - 1;
                if self.tokens.len() == MAX_BLOCK_TOKENS {
                    self.write_block(self.index);
                }
            } else {
                if self.byte_available {
                    let at = self.index - 1;
                    self.tokens.push(Token::Literal(u16::from(self.window[at])));
                    if self.tokens.len() == MAX_BLOCK_TOKENS {
                        self.write_block(at + 1);
                    }
                }
                self.index += 1;
                self.byte_available = true;
            }
        }
    }

    fn find_match(&self, pos: usize, head: usize, lookahead: usize) -> Option<(usize, usize)> {
        let look = lookahead.min(MAX_MATCH);
        let win = &self.window[..pos + look];
        let nice = look.min(NICE);
        let mut length = MIN_MATCH - 1;
        let mut found = None;
        let mut want = win[pos + length];
        let min_index = pos as i64 - WINDOW_SIZE as i64;
        let mut i = head;
        let mut tries = CHAIN;
        while tries > 0 {
            if win[i + length] == want {
                let n = win[i..i + look]
                    .iter()
                    .zip(&win[pos..])
                    .take_while(|(a, b)| a == b)
                    .count();
                if n > length && (n > MIN_MATCH || pos - i <= 4096) {
                    length = n;
                    found = Some((n, pos - i));
                    if n >= nice {
                        break;
                    }
                    want = win[pos + n];
                }
            }
            if i as i64 == min_index {
                break;
            }
            let next = i64::from(self.hash_prev[i & WINDOW_MASK]) - self.hash_offset;
            if next < min_index || next < 0 {
                break;
            }
            i = next as usize;
            tries -= 1;
        }
        found
    }

    fn write_block(&mut self, index: usize) {
        if index > 0 {
            let input = if self.block_start <= index as i64 {
                Some(&self.window[self.block_start as usize..index])
            } else {
                None
            };
            self.block_start = index as i64;
            self.bits.block(&self.tokens, input);
        }
        self.tokens.clear();
    }
}

#[derive(Clone, Copy, Default)]
struct Code {
    code: u16,
    len: u16,
}

fn reverse_bits(code: u16, len: u16) -> u16 {
    (code << (16 - len)).reverse_bits()
}

struct Huffman {
    codes: Vec<Code>,
}

#[derive(Clone, Copy)]
struct Leaf {
    symbol: u16,
    freq: i32,
}

#[derive(Clone, Copy, Default)]
struct Level {
    level: usize,
    last_freq: i32,
    next_char_freq: i32,
    next_pair_freq: i32,
    needed: i32,
}

impl Huffman {
    fn new(size: usize) -> Self {
        Huffman {
            codes: vec![Code::default(); size],
        }
    }

    fn fixed_literals() -> Self {
        let codes = (0..LITERAL_CODES as u16)
            .map(|ch| {
                let (bits, len) = match ch {
                    0..=143 => (ch + 48, 8),
                    144..=255 => (ch + 400 - 144, 9),
                    256..=279 => (ch - 256, 7),
                    _ => (ch + 192 - 280, 8),
                };
                Code {
                    code: reverse_bits(bits, len),
                    len,
                }
            })
            .collect();
        Huffman { codes }
    }

    fn fixed_offsets() -> Self {
        let codes = (0..OFFSET_CODES as u16)
            .map(|ch| Code {
                code: reverse_bits(ch, 5),
                len: 5,
            })
            .collect();
        Huffman { codes }
    }

    fn bit_length(&self, freq: &[i32]) -> usize {
        freq.iter()
            .zip(&self.codes)
            .filter(|(f, _)| **f != 0)
            .map(|(f, c)| *f as usize * usize::from(c.len))
            .sum()
    }

    /// Length-limited codes for `freq`, built the way Go's `huffmanEncoder.generate`
    /// builds them, so that ties resolve to the same lengths and the same codes.
    fn generate(&mut self, freq: &[i32], max_bits: usize) {
        let mut list = Vec::with_capacity(freq.len() + 1);
        for (symbol, &f) in freq.iter().enumerate() {
            if f != 0 {
                list.push(Leaf {
                    symbol: symbol as u16,
                    freq: f,
                });
            } else {
                self.codes[symbol].len = 0;
            }
        }
        if list.len() <= 2 {
            for (i, leaf) in list.iter().enumerate() {
                self.codes[usize::from(leaf.symbol)] = Code {
                    code: i as u16,
                    len: 1,
                };
            }
            return;
        }
        list.sort_by_key(|l| (l.freq, l.symbol));
        let counts = bit_counts(&list, max_bits);
        let mut code = 0u16;
        let mut rest = list.len();
        for (bits, &count) in counts.iter().enumerate() {
            code <<= 1;
            if bits == 0 || count == 0 {
                continue;
            }
            let chunk = &mut list[rest - count as usize..rest];
            chunk.sort_by_key(|l| l.symbol);
            for leaf in chunk.iter() {
                self.codes[usize::from(leaf.symbol)] = Code {
                    code: reverse_bits(code, bits as u16),
                    len: bits as u16,
                };
                code = code.wrapping_add(1);
            }
            rest -= count as usize;
        }
    }
}

/// How many symbols get each code length (index = length), by the package-merge
/// walk Go uses, over `list` sorted by ascending frequency.
fn bit_counts(list: &[Leaf], max_bits: usize) -> Vec<i32> {
    const LIMIT: usize = 16;
    let n = list.len() as i32;
    let freq_at = |i: i32| {
        if i < n {
            list[i as usize].freq
        } else {
            i32::MAX
        }
    };
    let max_bits = max_bits.min(n as usize - 1);
    let mut levels = [Level::default(); LIMIT + 1];
    let mut leaf_counts = [[0i32; LIMIT]; LIMIT];
    for level in 1..=max_bits {
        levels[level] = Level {
            level,
            last_freq: freq_at(1),
            next_char_freq: freq_at(2),
            next_pair_freq: if level == 1 {
                i32::MAX
            } else {
                freq_at(0) + freq_at(1)
            },
            needed: 0,
        };
        leaf_counts[level][level] = 2;
    }
    levels[max_bits].needed = 2 * n - 4;
    let mut level = max_bits;
    loop {
        let l = levels[level];
        if l.next_pair_freq == i32::MAX && l.next_char_freq == i32::MAX {
            levels[level].needed = 0;
            levels[level + 1].next_pair_freq = i32::MAX;
            level += 1;
            continue;
        }
        let prev_freq = l.last_freq;
        if l.next_char_freq < l.next_pair_freq {
            let next = leaf_counts[level][level] + 1;
            levels[level].last_freq = l.next_char_freq;
            leaf_counts[level][level] = next;
            levels[level].next_char_freq = freq_at(next);
        } else {
            levels[level].last_freq = l.next_pair_freq;
            let below = leaf_counts[level - 1];
            leaf_counts[level][..level].copy_from_slice(&below[..level]);
            levels[l.level - 1].needed = 2;
        }
        levels[level].needed -= 1;
        if levels[level].needed == 0 {
            if l.level == max_bits {
                break;
            }
            levels[l.level + 1].next_pair_freq = prev_freq + levels[level].last_freq;
            level += 1;
        } else {
            while levels[level - 1].needed > 0 {
                level -= 1;
            }
        }
    }
    let mut counts = vec![0i32; max_bits + 1];
    let top = &leaf_counts[max_bits];
    for (bits, level) in (1..=max_bits).zip((1..=max_bits).rev()) {
        counts[bits] = top[level] - top[level - 1];
    }
    counts
}

fn length_code(xlength: u32) -> usize {
    LENGTH_BASE.iter().rposition(|&b| b <= xlength).unwrap_or(0)
}

fn offset_code(xoffset: u32) -> usize {
    OFFSET_BASE.iter().rposition(|&b| b <= xoffset).unwrap_or(0)
}

/// Go's `huffmanBitWriter`: bits go out least significant first.
struct BlockWriter {
    out: Vec<u8>,
    acc: u64,
    nbits: u32,
    literal_freq: [i32; LITERAL_CODES],
    offset_freq: [i32; OFFSET_CODES],
    codegen_freq: [i32; CODEGEN_CODES],
    codegen: Vec<u8>,
    literals: Huffman,
    offsets: Huffman,
    codegen_codes: Huffman,
    fixed_literals: Huffman,
    fixed_offsets: Huffman,
}

const CODEGEN_END: u8 = 255;

impl BlockWriter {
    fn new() -> Self {
        BlockWriter {
            out: Vec::new(),
            acc: 0,
            nbits: 0,
            literal_freq: [0; LITERAL_CODES],
            offset_freq: [0; OFFSET_CODES],
            codegen_freq: [0; CODEGEN_CODES],
            codegen: vec![0; LITERAL_CODES + OFFSET_CODES + 1],
            literals: Huffman::new(LITERAL_CODES),
            offsets: Huffman::new(OFFSET_CODES),
            codegen_codes: Huffman::new(CODEGEN_CODES),
            fixed_literals: Huffman::fixed_literals(),
            fixed_offsets: Huffman::fixed_offsets(),
        }
    }

    fn bits(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.nbits;
        self.nbits += n;
        while self.nbits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.nbits -= 8;
        }
    }

    fn code(&mut self, code: Code) {
        self.bits(u32::from(code.code), u32::from(code.len));
    }

    fn align(&mut self) {
        if self.nbits > 0 {
            self.out.push(self.acc as u8);
        }
        self.acc = 0;
        self.nbits = 0;
    }

    fn stored_header(&mut self, length: usize, final_block: bool) {
        self.bits(u32::from(final_block), 3);
        self.align();
        self.bits(length as u32, 16);
        self.bits(u32::from(!(length as u16)), 16);
    }

    fn block(&mut self, tokens: &[Token], input: Option<&[u8]>) {
        let (num_literals, num_offsets) = self.index_tokens(tokens);
        let stored = input.filter(|i| i.len() <= MAX_STORED_BLOCK);
        let mut extra_bits = 0usize;
        if stored.is_some() {
            for code in LENGTH_CODES_START + 8..num_literals {
                extra_bits += self.literal_freq[code] as usize
                    * LENGTH_EXTRA_BITS[code - LENGTH_CODES_START] as usize;
            }
            extra_bits += self.offset_freq[..num_offsets]
                .iter()
                .zip(&OFFSET_EXTRA_BITS)
                .skip(4)
                .map(|(f, bits)| *f as usize * *bits as usize)
                .sum::<usize>();
        }
        let fixed_size = 3
            + self.fixed_literals.bit_length(&self.literal_freq)
            + self.fixed_offsets.bit_length(&self.offset_freq)
            + extra_bits;
        self.generate_codegen(num_literals, num_offsets);
        self.codegen_codes.generate(&self.codegen_freq, 7);
        let mut num_codegens = CODEGEN_CODES;
        while num_codegens > 4 && self.codegen_freq[CODEGEN_ORDER[num_codegens - 1]] == 0 {
            num_codegens -= 1;
        }
        let header = 3
            + 5
            + 5
            + 4
            + 3 * num_codegens
            + self.codegen_codes.bit_length(&self.codegen_freq)
            + self.codegen_freq[16] as usize * 2
            + self.codegen_freq[17] as usize * 3
            + self.codegen_freq[18] as usize * 7;
        let dynamic_size = header
            + self.literals.bit_length(&self.literal_freq)
            + self.offsets.bit_length(&self.offset_freq)
            + extra_bits;
        let dynamic = dynamic_size < fixed_size;
        let size = fixed_size.min(dynamic_size);
        if let Some(input) = stored {
            if (input.len() + 5) * 8 < size {
                self.stored_header(input.len(), false);
                self.out.extend_from_slice(input);
                return;
            }
        }
        if dynamic {
            self.dynamic_header(num_literals, num_offsets, num_codegens);
        } else {
            self.bits(2, 3);
        }
        let end = [Token::Literal(END_BLOCK)];
        for &token in tokens.iter().chain(&end) {
            let (literals, offsets) = if dynamic {
                (&self.literals, &self.offsets)
            } else {
                (&self.fixed_literals, &self.fixed_offsets)
            };
            match token {
                Token::Literal(symbol) => {
                    let code = literals.codes[usize::from(symbol)];
                    self.code(code);
                }
                Token::Match(xlength, xoffset) => {
                    let lc = length_code(xlength);
                    let oc = offset_code(xoffset);
                    let (lcode, ocode) =
                        (literals.codes[lc + LENGTH_CODES_START], offsets.codes[oc]);
                    self.code(lcode);
                    if LENGTH_EXTRA_BITS[lc] > 0 {
                        self.bits(xlength - LENGTH_BASE[lc], LENGTH_EXTRA_BITS[lc]);
                    }
                    self.code(ocode);
                    if OFFSET_EXTRA_BITS[oc] > 0 {
                        self.bits(xoffset - OFFSET_BASE[oc], OFFSET_EXTRA_BITS[oc]);
                    }
                }
            }
        }
    }

    fn index_tokens(&mut self, tokens: &[Token]) -> (usize, usize) {
        self.literal_freq = [0; LITERAL_CODES];
        self.offset_freq = [0; OFFSET_CODES];
        for token in tokens.iter().chain(&[Token::Literal(END_BLOCK)]) {
            match *token {
                Token::Literal(symbol) => self.literal_freq[usize::from(symbol)] += 1,
                Token::Match(xlength, xoffset) => {
                    self.literal_freq[LENGTH_CODES_START + length_code(xlength)] += 1;
                    self.offset_freq[offset_code(xoffset)] += 1;
                }
            }
        }
        let mut num_literals = LITERAL_CODES;
        while self.literal_freq[num_literals - 1] == 0 {
            num_literals -= 1;
        }
        let mut num_offsets = OFFSET_CODES;
        while num_offsets > 0 && self.offset_freq[num_offsets - 1] == 0 {
            num_offsets -= 1;
        }
        if num_offsets == 0 {
            self.offset_freq[0] = 1;
            num_offsets = 1;
        }
        self.literals.generate(&self.literal_freq, 15);
        self.offsets.generate(&self.offset_freq, 15);
        (num_literals, num_offsets)
    }

    /// The code lengths of both trees, run-length coded with symbols 16, 17 and 18
    /// the way Go does it (runs may cross from literals into offsets).
    fn generate_codegen(&mut self, num_literals: usize, num_offsets: usize) {
        self.codegen_freq = [0; CODEGEN_CODES];
        let lengths: Vec<u8> = self.literals.codes[..num_literals]
            .iter()
            .chain(&self.offsets.codes[..num_offsets])
            .map(|c| c.len as u8)
            .chain(std::iter::once(CODEGEN_END))
            .collect();
        let mut out = Vec::with_capacity(lengths.len());
        let mut size = lengths[0];
        let mut count: i32 = 1;
        let mut at = 1;
        while size != CODEGEN_END {
            let next = lengths[at];
            at += 1;
            if next == size {
                count += 1;
                continue;
            }
            if size != 0 {
                out.push(size);
                self.codegen_freq[usize::from(size)] += 1;
                count -= 1;
                while count >= 3 {
                    let n = count.min(6);
                    out.extend_from_slice(&[16, (n - 3) as u8]);
                    self.codegen_freq[16] += 1;
                    count -= n;
                }
            } else {
                while count >= 11 {
                    let n = count.min(138);
                    out.extend_from_slice(&[18, (n - 11) as u8]);
                    self.codegen_freq[18] += 1;
                    count -= n;
                }
                if count >= 3 {
                    out.extend_from_slice(&[17, (count - 3) as u8]);
                    self.codegen_freq[17] += 1;
                    count = 0;
                }
            }
            for _ in 0..count.max(0) {
                out.push(size);
                self.codegen_freq[usize::from(size)] += 1;
            }
            size = next;
            count = 1;
        }
        out.push(CODEGEN_END);
        self.codegen = out;
    }

    fn dynamic_header(&mut self, num_literals: usize, num_offsets: usize, num_codegens: usize) {
        self.bits(4, 3);
        self.bits((num_literals - 257) as u32, 5);
        self.bits((num_offsets - 1) as u32, 5);
        self.bits((num_codegens - 4) as u32, 4);
        for &symbol in &CODEGEN_ORDER[..num_codegens] {
            let len = self.codegen_codes.codes[symbol].len;
            self.bits(u32::from(len), 3);
        }
        let mut i = 0;
        loop {
            let symbol = self.codegen[i];
            i += 1;
            if symbol == CODEGEN_END {
                break;
            }
            let code = self.codegen_codes.codes[usize::from(symbol)];
            self.code(code);
            let extra = match symbol {
                16 => 2,
                17 => 3,
                18 => 7,
                _ => continue,
            };
            let value = u32::from(self.codegen[i]);
            self.bits(value, extra);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(gz: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    #[test]
    fn round_trips_through_a_standard_decoder() {
        let mut text = Vec::new();
        let mut seed = 7u32;
        for i in 0..90_000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            text.push(if i % 3 == 0 {
                b'a' + (seed >> 16) as u8 % 26
            } else {
                (seed >> 24) as u8
            });
            if i % 1000 < 300 {
                text.push(b'x');
            }
        }
        for len in [0, 1, 5, 300, 4_000, 70_000, text.len()] {
            assert_eq!(
                inflate(&go_gzip(&text[..len])),
                &text[..len],
                "length {len}"
            );
        }
    }

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
