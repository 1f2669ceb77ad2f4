"""Train an ElasticNet regression on the UCI Wine data, using only the standard library.

The model predicts a wine's ``alcohol`` content from its 12 other chemical measurements
(the ``cultivar`` class is deliberately left out). It is fitted by cyclic coordinate descent
with soft-thresholding on standardized features, minimizing the same objective as
scikit-learn's ``ElasticNet``::

    1 / (2 n) * ||y - b - X w||^2 + alpha * l1_ratio * ||w||_1
        + 0.5 * alpha * (1 - l1_ratio) * ||w||^2

Parameters, the per-iteration training loss, test metrics, a tag and the fitted model are
recorded through the ``mlrun_cli`` tracking API. The script never writes into its own folder.
Everything is deterministic: the same arguments give bit-identical metrics.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlrun_cli

TARGET = "alcohol"
EXCLUDED = ("cultivar",)
TEST_FRACTION = 0.25
TOLERANCE = 1e-7  # stop when the largest coefficient change in a sweep falls below this

Matrix = list[list[float]]


@dataclass
class Dataset:
    """Feature rows, target values and feature names."""

    features: Matrix
    target: list[float]
    names: list[str]


@dataclass
class Scaler:
    """Per-feature means and standard deviations learned on the training split."""

    means: list[float]
    scales: list[float]

    @classmethod
    def fit(cls, rows: Matrix) -> Scaler:
        """Learn column means and (population) standard deviations from ``rows``."""
        n = len(rows)
        columns = list(zip(*rows, strict=True))
        means = [math.fsum(col) / n for col in columns]
        scales = []
        for col, mean in zip(columns, means, strict=True):
            std = math.sqrt(math.fsum((v - mean) ** 2 for v in col) / n)
            scales.append(std if std > 0.0 else 1.0)
        return cls(means, scales)

    def transform(self, rows: Matrix) -> Matrix:
        """Return ``rows`` centered and scaled column by column."""
        return [
            [(v - m) / s for v, m, s in zip(row, self.means, self.scales, strict=True)]
            for row in rows
        ]


@dataclass
class ElasticNet:
    """A fitted linear model on standardized features: ``y = intercept + x_std . coef``."""

    intercept: float
    coef: list[float]

    def predict(self, rows: Matrix) -> list[float]:
        """Predict the target for already standardized ``rows``."""
        return [self.intercept + _dot(row, self.coef) for row in rows]


def _dot(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def _soft_threshold(value: float, threshold: float) -> float:
    """Shrink ``value`` towards zero by ``threshold`` (the proximal step of the L1 norm)."""
    if value > threshold:
        return value - threshold
    if value < -threshold:
        return value + threshold
    return 0.0


def load_dataset(path: Path) -> Dataset:
    """Read the wine CSV and split it into features (all but target/excluded) and target."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise ValueError(f"{path} is empty")
        names = [c for c in reader.fieldnames if c != TARGET and c not in EXCLUDED]
        features: Matrix = []
        target: list[float] = []
        for record in reader:
            features.append([float(record[name]) for name in names])
            target.append(float(record[TARGET]))
    return Dataset(features, target, names)


def train_test_split(data: Dataset, seed: int) -> tuple[Dataset, Dataset]:
    """Shuffle row indices with ``random.Random(seed)`` and hold out 25% for testing."""
    indices = list(range(len(data.target)))
    random.Random(seed).shuffle(indices)
    n_test = round(len(indices) * TEST_FRACTION)
    test_idx, train_idx = indices[:n_test], indices[n_test:]

    def subset(idx: list[int]) -> Dataset:
        return Dataset([data.features[i] for i in idx], [data.target[i] for i in idx], data.names)

    return subset(train_idx), subset(test_idx)


def objective(x: Matrix, y: list[float], model: ElasticNet, alpha: float, l1_ratio: float) -> float:
    """The ElasticNet training objective (half mean squared error plus penalties)."""
    n = len(y)
    sse = math.fsum((t - p) ** 2 for t, p in zip(y, model.predict(x), strict=True))
    l1 = math.fsum(abs(w) for w in model.coef)
    l2 = math.fsum(w * w for w in model.coef)
    return sse / (2 * n) + alpha * l1_ratio * l1 + 0.5 * alpha * (1 - l1_ratio) * l2


def fit_elasticnet(
    x: Matrix, y: list[float], alpha: float, l1_ratio: float, max_iter: int
) -> ElasticNet:
    """Fit by cyclic coordinate descent on standardized ``x``, logging the loss per sweep.

    With standardized columns (mean 0, mean square 1) the intercept is simply ``mean(y)`` and
    each coordinate update has the closed form
    ``w_j = S(rho_j, alpha * l1_ratio) / (1 + alpha * (1 - l1_ratio))``, where
    ``rho_j = mean(x_j * (r + x_j * w_j))`` and ``r`` is the current residual.
    """
    n, p = len(y), len(x[0])
    columns = [list(col) for col in zip(*x, strict=True)]
    model = ElasticNet(intercept=math.fsum(y) / n, coef=[0.0] * p)
    residual = [t - model.intercept for t in y]
    l1_penalty = alpha * l1_ratio
    denominator = 1.0 + alpha * (1.0 - l1_ratio)

    for step in range(max_iter):
        max_change = 0.0
        for j, col in enumerate(columns):
            old = model.coef[j]
            rho = math.fsum(v * (r + v * old) for v, r in zip(col, residual, strict=True)) / n
            new = _soft_threshold(rho, l1_penalty) / denominator
            if new != old:
                delta = new - old
                residual = [r - v * delta for r, v in zip(residual, col, strict=True)]
                model.coef[j] = new
                max_change = max(max_change, abs(delta))
        mlrun_cli.log_metric("train_loss", objective(x, y, model, alpha, l1_ratio), step=step)
        if max_change < TOLERANCE:
            break
    return model


def regression_metrics(y_true: list[float], y_pred: list[float]) -> dict[str, float]:
    """Root mean squared error, mean absolute error and coefficient of determination."""
    n = len(y_true)
    errors = [t - p for t, p in zip(y_true, y_pred, strict=True)]
    mean = math.fsum(y_true) / n
    ss_res = math.fsum(e * e for e in errors)
    ss_tot = math.fsum((t - mean) ** 2 for t in y_true)
    return {
        "rmse": math.sqrt(ss_res / n),
        "mae": math.fsum(abs(e) for e in errors) / n,
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (the MLproject entry point passes every option)."""
    parser = argparse.ArgumentParser(
        description="Fit an ElasticNet predicting wine alcohol content."
    )
    parser.add_argument("--alpha", type=float, default=0.5, help="overall penalty strength")
    parser.add_argument("--l1-ratio", type=float, default=0.1, help="L1 share of the penalty")
    parser.add_argument("--max-iter", type=int, default=200, help="coordinate-descent sweeps")
    parser.add_argument("--seed", type=int, default=42, help="seed for the train/test split")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parent / "data" / "wine.csv",
        help="CSV file (default: data/wine.csv next to this script)",
    )
    args = parser.parse_args(argv)
    if args.alpha < 0:
        parser.error("--alpha must be >= 0")
    if not 0.0 <= args.l1_ratio <= 1.0:
        parser.error("--l1-ratio must be between 0 and 1")
    if args.max_iter < 1:
        parser.error("--max-iter must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Load data, fit, evaluate and log everything to the active mlrun run."""
    args = parse_args(argv)
    params = {
        "alpha": args.alpha,
        "l1_ratio": args.l1_ratio,
        "max_iter": args.max_iter,
        "seed": args.seed,
    }
    mlrun_cli.log_params(params)
    mlrun_cli.set_tag("model", "elasticnet")

    train, test = train_test_split(load_dataset(args.data), args.seed)
    scaler = Scaler.fit(train.features)
    x_train = scaler.transform(train.features)
    x_test = scaler.transform(test.features)

    model = fit_elasticnet(x_train, train.target, args.alpha, args.l1_ratio, args.max_iter)

    metrics = regression_metrics(test.target, model.predict(x_test))
    metrics["train_rmse"] = regression_metrics(train.target, model.predict(x_train))["rmse"]
    mlrun_cli.log_metrics(metrics)

    coefficients = dict(zip(train.names, model.coef, strict=True))
    model_doc = {
        "model": "elasticnet",
        "target": TARGET,
        "features": train.names,
        "intercept": model.intercept,
        "coefficients": coefficients,
        "standardization": {
            "means": dict(zip(train.names, scaler.means, strict=True)),
            "scales": dict(zip(train.names, scaler.scales, strict=True)),
        },
        "params": params,
        "prediction": "intercept + sum(coef[f] * (x[f] - means[f]) / scales[f])",
    }
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "model.json"
        model_path.write_text(json.dumps(model_doc, indent=2) + "\n", encoding="utf-8")
        mlrun_cli.log_artifact(str(model_path))
    mlrun_cli.log_dict(coefficients, "coefficients.json")

    print(
        f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio}): "
        f"rmse={metrics['rmse']:.3f} mae={metrics['mae']:.3f} r2={metrics['r2']:.3f} "
        f"(train_rmse={metrics['train_rmse']:.3f}, "
        f"{sum(c != 0.0 for c in model.coef)}/{len(model.coef)} non-zero coefficients)"
    )


if __name__ == "__main__":
    main()
