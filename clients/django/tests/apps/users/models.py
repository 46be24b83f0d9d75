from django.db import models


class Account(models.Model):
    name = models.TextField()
