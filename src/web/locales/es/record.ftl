# Las palabras del registro de la consulta que ambos Estados leen por igual.
inquiry-requester-contact = Datos de contacto del solicitante
