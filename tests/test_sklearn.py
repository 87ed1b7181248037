"""fastnet.sklearn.NetworkClassifier: scikit-learn's own estimator checks, pipelines, grid searches, labels."""
import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnet.sklearn import EXPECTED_FAILED_CHECKS, NetworkClassifier  # noqa: E402


@parametrize_with_checks([NetworkClassifier(random_state=0)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits(mnist):
    (X, y), (test_X, test_y) = mnist
    return X[:1500], y[:1500], test_X[:500], test_y[:500]


def test_string_labels_pipeline_and_probabilities(digits):
    X, y, test_X, test_y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    model = make_pipeline(MinMaxScaler(), NetworkClassifier(epochs=10, random_state=1)).fit(X, names[y])
    classifier = model[-1]
    assert classifier.classes_.tolist() == sorted(names.tolist()) and classifier.n_features_in_ == 784
    assert model.score(test_X, names[test_y]) > 0.7  # 1,500 images, 10 epochs: it learned
    probabilities = model.predict_proba(test_X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(classifier.classes_[probabilities.argmax(axis=1)], model.predict(test_X))


def test_fit_is_reproducible_and_clone_starts_over(digits):
    X, y, test_X, _ = digits
    first = NetworkClassifier(epochs=3, random_state=7).fit(X, y)
    again = clone(first).fit(X, y)
    np.testing.assert_array_equal(first.network_.params, again.network_.params)
    assert not hasattr(clone(first), "network_") and clone(first).get_params() == first.get_params()
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict_proba(test_X), first.predict_proba(test_X))


def test_partial_fit_is_one_epoch_and_needs_classes_first(digits):
    X, y, test_X, test_y = digits
    model = NetworkClassifier(random_state=3)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    for _ in range(4):
        model.partial_fit(X, y, classes=np.arange(10))
    assert len(model.history_) == 4 and model.score(test_X, test_y) > 0.6
    with pytest.raises(ValueError, match=r"labels not in classes_"):
        model.partial_fit(X[:5], np.array([0, 1, 2, 3, 11]))


def test_grid_search_on_threads(digits):
    X, y, _, _ = digits
    grid = {"eta": [0.1, 0.5], "hidden_layer_sizes": [(10,), (30,)]}
    search = GridSearchCV(NetworkClassifier(epochs=3, random_state=0), grid, cv=2, n_jobs=2)
    from joblib import parallel_config

    with parallel_config(backend="threading"):
        search.fit(X, y)
    assert set(search.best_params_) == {"eta", "hidden_layer_sizes"} and search.best_score_ > 0.6
