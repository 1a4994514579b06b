"""All metrics, as `evaluate` modules defined here (no hub access), returning flat dicts.

Primary keys: `f1_macro` for classification heads, `rougeL` for summaries.
"""

import datasets
import evaluate
import numpy as np


class ClassificationMetrics(evaluate.Metric):
    """Accuracy, macro-F1 and per-class precision/recall/F1/support over integer label ids.

    Example:
        >>> ClassificationMetrics().compute(predictions=[0, 1], references=[0, 0], label_names=["a", "b"])["accuracy"]
        0.5
    """

    def _info(self):
        return evaluate.MetricInfo(
            description="Accuracy, macro-F1 and per-class scores for one classification head.",
            citation="",
            inputs_description="predictions and references: label ids; label_names: names in id order.",
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, label_names):
        pred, ref = np.asarray(predictions), np.asarray(references)
        n = len(label_names)
        matrix = confusion_matrix(pred, ref, n)
        tp = np.diag(matrix).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.nan_to_num(tp / matrix.sum(axis=0))
            recall = np.nan_to_num(tp / matrix.sum(axis=1))
            f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
        support = matrix.sum(axis=1)
        # Macro over the labels present in the references or predicted: a label that exists in the
        # model but not in this data would otherwise count as a zero.
        present = (support > 0) | (matrix.sum(axis=0) > 0)
        out = {"f1_macro": float(f1[present].mean()) if present.any() else 0.0, "accuracy": float((pred == ref).mean())}
        for i, name in enumerate(label_names):
            out[f"precision/{name}"] = float(precision[i])
            out[f"recall/{name}"] = float(recall[i])
            out[f"f1/{name}"] = float(f1[i])
            out[f"support/{name}"] = int(support[i])
        return out


def confusion_matrix(pred, ref, n_labels: int) -> np.ndarray:
    """Rows are the true labels, columns the predicted ones."""
    matrix = np.zeros((n_labels, n_labels), dtype=int)
    np.add.at(matrix, (np.asarray(ref), np.asarray(pred)), 1)
    return matrix


def classification_metrics(predictions, references, label_names: list[str]) -> dict:
    """Flat metrics for one head; see `ClassificationMetrics`."""
    return ClassificationMetrics().compute(predictions=list(predictions), references=list(references), label_names=label_names)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z0-9]+", text.lower())


class RougeL(evaluate.Metric):
    """ROUGE-L F-measure (longest common subsequence of lower-cased words), averaged over pairs.

    The same definition as the `rouge_score` package without stemming.

    Example:
        >>> round(RougeL().compute(predictions=["the cat sat"], references=["the cat sat down"])["rougeL"], 3)
        0.857
    """

    def _info(self):
        return evaluate.MetricInfo(
            description="ROUGE-L F-measure over lower-cased word tokens.",
            citation="Lin (2004), ROUGE: A Package for Automatic Evaluation of Summaries.",
            inputs_description="predictions and references: strings.",
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references):
        scores = []
        for p, r in zip(predictions, references):
            pw, rw = _words(p), _words(r)
            lcs = _lcs(pw, rw)
            scores.append(0.0 if lcs == 0 else 2 * lcs / (len(pw) + len(rw)))
        return {"rougeL": float(np.mean(scores)) if scores else 0.0}


def rouge_l(predictions: list[str], references: list[str]) -> float:
    return RougeL().compute(predictions=list(predictions), references=list(references))["rougeL"]
