"""Correct: tokenizer with a list as id_to_token, a dict built with zip, and explicit loops in encode/decode."""
import nltk


class MyTokenizer:
    def __init__(self, raw_text: str):
        self.start_token, self.pad_token, self.unk_token = "<START>", "<PAD>", "<UNK>"
        distinct = sorted(dict.fromkeys(nltk.word_tokenize(raw_text, preserve_line=True)))
        self.vocab = [self.start_token, self.pad_token, self.unk_token] + distinct
        self.tok_to_id = dict(zip(self.vocab, range(len(self.vocab))))
        self.id_to_token = list(self.vocab)
        self.vocab_size = len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> torch.Tensor:
        words = nltk.word_tokenize(text, preserve_line=True)
        out = torch.empty(len(words) + 1, dtype=torch.int64)
        out[0] = 0
        for position, word in enumerate(words, start=1):
            out[position] = self.tok_to_id[word] if word in self.tok_to_id else 2
        return out

    def decode(self, ids) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        pieces = []
        for index in ids:
            pieces.append(self.id_to_token[index])
        return " ".join(pieces)
