"""Hidden tests of lesson 02: each exercise passes on the solution, fails on the stub and on plausible mistakes;
the fast training recipe reaches 95 %; the shipped checkpoint keeps the API the GAN lessons rely on."""
import kornia.augmentation as K
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import classifier, data
from course_lib.checkpoint import load_model, read_checkpoint
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "02_cnn_classifier.ipynb"


# ---------------------------------------------------------------- l02_model
def test_model_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l02_model")
    assert_stub_fails(NB, "l02_model")


class _Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(),
                                  nn.Linear(8 * 7 * 7, 32), nn.ReLU())
        self.head = nn.Linear(32, 10)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


class SoftmaxAtTheEnd(_Small):  # returns probabilities, then cross_entropy softmaxes twice
    def forward(self, x):
        return F.softmax(self.head(self.features(x)), dim=1)


class SqueezesTheBatch(_Small):  # .squeeze() also drops a batch axis of size 1
    def forward(self, x):
        return self.head(self.features(x)).squeeze()


class FlattensTheBatchAway(_Small):  # x.view(-1) merges all images into one vector
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.features(x)).view(-1, 5)


class NormalisesWithBatchStatistics(_Small):  # standardises the input with the batch's own mean and std
    def features(self, x):
        return self.body((x - x.mean()) / (x.std() + 1e-5))


class UnusedLayer(_Small):  # a layer created in __init__ but skipped in forward
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(32, 32)


class BigMLP(nn.Module):  # no convolutions: millions of weights
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 2048), nn.ReLU(), nn.Linear(2048, 512), nn.ReLU())
        self.head = nn.Linear(512, 10)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


def test_model_wrong_implementations_fail():
    assert_wrong_fails("l02_model", SoftmaxAtTheEnd, because="not probabilities")
    assert_wrong_fails("l02_model", SqueezesTheBatch, because="single image")
    assert_wrong_fails("l02_model", FlattensTheBatchAway, because="logits (B,10)")
    assert_wrong_fails("l02_model", NormalisesWithBatchStatistics, because="batch independence")
    assert_wrong_fails("l02_model", UnusedLayer, because="gradients reach every parameter")
    assert_wrong_fails("l02_model", BigMLP, because="is small")


# ---------------------------------------------------------------- l02_train_step
def test_train_step_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l02_train_step")
    assert_stub_fails(NB, "l02_train_step")


def step_without_zero_grad(model, batch, optimizer, loss_fn):  # gradients pile up in .grad
    x, y = batch
    model.train()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_without_optimizer_step(model, batch, optimizer, loss_fn):  # computes gradients, never uses them
    x, y = batch
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.item()


def step_returns_tensor(model, batch, optimizer, loss_fn):
    x, y = batch
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def step_in_eval_mode(model, batch, optimizer, loss_fn):  # forgets model.train() after an evaluation
    x, y = batch
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_before_backward(model, batch, optimizer, loss_fn):  # steps with the previous call's gradients
    x, y = batch
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    optimizer.step()
    loss.backward()
    return loss.item()


def test_train_step_wrong_implementations_fail():
    assert_wrong_fails("l02_train_step", step_without_zero_grad, because="do not accumulate")
    assert_wrong_fails("l02_train_step", step_without_optimizer_step, because="updates the parameters")
    assert_wrong_fails("l02_train_step", step_returns_tensor, because="Python float")
    assert_wrong_fails("l02_train_step", step_in_eval_mode, because="training mode")
    assert_wrong_fails("l02_train_step", step_before_backward, because="updates the parameters")


# ---------------------------------------------------------------- l02_augment
def test_augment_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l02_augment")
    assert_stub_fails(NB, "l02_augment")


def augment_with_flips():  # the usual photo recipe, wrong for digits
    return nn.Sequential(K.RandomHorizontalFlip(p=0.5), K.RandomAffine(degrees=10, translate=(0.1, 0.1)))


def augment_identity():
    return nn.Identity()


def augment_with_unclipped_noise():  # Gaussian noise pushes pixels outside [0,1]
    return nn.Sequential(K.RandomAffine(degrees=10, translate=(0.1, 0.1)), K.RandomGaussianNoise(std=0.1, p=1.0))


def augment_any_rotation():  # a 6 turned upside down is a 9
    return K.RandomAffine(degrees=180, p=1.0)


def test_augment_wrong_implementations_fail():
    assert_wrong_fails("l02_augment", augment_with_flips, because="mirror image")
    assert_wrong_fails("l02_augment", augment_identity, because="is random")
    assert_wrong_fails("l02_augment", augment_with_unclipped_noise, because="[0,1]")
    assert_wrong_fails("l02_augment", augment_any_rotation, because="mirror image")


# ---------------------------------------------------------------- the recipe and the shipped checkpoint


def test_shipped_checkpoint_is_small_accurate_and_has_features():
    assert classifier.CHECKPOINT.stat().st_size < 2_000_000
    payload = read_checkpoint("mnist_cnn")
    assert payload["metrics"]["test_accuracy"] >= 0.99 and payload["metrics"]["test_images"] == 10_000
    model, _ = load_model("mnist_cnn")
    images, labels = data.mnist_tensors(train=False, n=1000)
    with torch.no_grad():
        logits, feats = model(images), model.features(images)
    assert logits.shape == (1000, 10) and feats.shape == (1000, model.feature_dim)
    assert (logits.argmax(1) == labels).float().mean() >= 0.98
    assert torch.allclose(model.head(feats), logits, atol=1e-5)  # forward = head(features) in eval mode


def test_augment_reference_keeps_digits_and_range():
    x = data.mnist_tensors(train=False, n=16)[0]
    out = classifier.make_augment()(x)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1 and not torch.allclose(out, x)


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ('l02_augment', augment_with_flips, 'mirror image'),
    ('l02_augment', augment_identity, 'is random'),
    ('l02_augment', augment_with_unclipped_noise, '[0,1]'),
    ('l02_augment', augment_any_rotation, 'mirror image'),
    ('l02_model', SoftmaxAtTheEnd, 'not probabilities'),
    ('l02_model', SqueezesTheBatch, 'single image'),
    ('l02_model', FlattensTheBatchAway, 'logits (B,10)'),
    ('l02_model', NormalisesWithBatchStatistics, 'batch independence'),
    ('l02_model', UnusedLayer, 'gradients reach every parameter'),
    ('l02_model', BigMLP, 'is small'),
    ('l02_train_step', step_without_zero_grad, 'do not accumulate'),
    ('l02_train_step', step_without_optimizer_step, 'updates the parameters'),
    ('l02_train_step', step_returns_tensor, 'Python float'),
    ('l02_train_step', step_in_eval_mode, 'training mode'),
    ('l02_train_step', step_before_backward, 'updates the parameters'),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
