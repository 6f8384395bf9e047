"""Which packages the wheel holds; everything else about the project is in pyproject.toml.

Every package under course_lib/ is found automatically (data folders such as course_lib/checkpoints count as
namespace packages, so setuptools ships their files instead of warning "Package would be ignored"), and the
repository's data/ folder is added as course_lib._data (pyproject.toml alone cannot combine both).
"""
from setuptools import find_namespace_packages, setup

DATA = ["course_lib._data", "course_lib._data.MNIST", "course_lib._data.MNIST.raw"]

setup(packages=find_namespace_packages(include=["course_lib", "course_lib.*"], exclude=["*__pycache__*", "*.ipynb_checkpoints*"]) + DATA,
      package_dir={"course_lib._data": "data"})
