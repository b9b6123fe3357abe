# As palavras do registro da consulta que os dois Estados leem da mesma forma.
inquiry-requester-contact = Dados de contato do solicitante
