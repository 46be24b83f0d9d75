from django.db import models


class Daily(models.Model):
    name = models.TextField()
